// Package freeport finds a loopback address for a process a test or a
// benchmark starts.
package freeport

import "net"

// Addr is a 127.0.0.1:port address nothing listens on now. It is free when
// Addr returns; another process may take it before the caller's does.
func Addr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer func() { _ = l.Close() }()
	return l.Addr().String(), nil
}

// Ports are n distinct loopback ports nothing listens on now: each is held
// until all are found, so that no two are the same.
func Ports(n int) ([]int, error) {
	var out []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		defer func() { _ = l.Close() }()
		out = append(out, l.Addr().(*net.TCPAddr).Port)
	}
	return out, nil
}
