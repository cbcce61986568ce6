// Package scaling holds the vocabulary every part of scaled shares: samples and
// readings of signals, the capacity of a target, recommendations, and the
// decision that explains a tick. It does no I/O and depends on nothing in scaled.
package scaling
