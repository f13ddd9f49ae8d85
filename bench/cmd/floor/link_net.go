//go:build floor_net

package main

import "net"

func link(args []string) {
	if c, err := net.Dial("tcp", args[1]); err == nil {
		_ = c.Close()
	}
}
