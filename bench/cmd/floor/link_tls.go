//go:build floor_tls

package main

import (
	"crypto/tls"
	"net"
)

func link(args []string) {
	if c, err := net.Dial("tcp", args[1]); err == nil {
		tc := tls.Client(c, &tls.Config{ServerName: args[2]})
		_ = tc.Handshake()
		_ = tc.Close()
	}
}
