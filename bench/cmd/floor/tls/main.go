// Command tls is bench/cmd/hello with package crypto/tls (and net, which
// it dials with) linked in but never called: the harness compares its
// start with the hello world's to show what linking crypto/tls costs a Go
// program's start.
package main

import (
	"crypto/tls"
	"fmt"
	"net"
	"os"
)

// never is an argument count no exec can pass (see bench/cmd/floor/net).
const never = 1 << 20

func main() {
	if len(os.Args) == never {
		c, err := net.Dial("tcp", os.Args[1])
		if err == nil {
			tc := tls.Client(c, &tls.Config{ServerName: os.Args[2]})
			_ = tc.Handshake()
			tc.Close()
		}
	}
	fmt.Println("hello, world")
}
