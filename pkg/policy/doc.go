// Package policy is scaled's pure decision code: the policies that recommend a
// capacity and the guards that shape it. It never reads the clock (now is
// handed in), never does I/O and never logs; the same inputs give the same decision.
package policy
