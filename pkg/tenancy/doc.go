// Package tenancy says what a Scaler object, which a namespace's users
// write, may reach: workloads of its own namespace, its own namespace's
// series when queries are confined, and outside the cluster only what
// scaled's config allows that namespace. It parses and checks; it never
// calls anything.
package tenancy
