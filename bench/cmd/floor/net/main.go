// Command net is bench/cmd/hello with package net linked in but never
// called: the harness compares its start with the hello world's to show
// what linking net costs a Go program's start.
package main

import (
	"fmt"
	"net"
	"os"
)

// never is an argument count no exec can pass: Linux caps argv and the
// environment at 6 MiB, their pointers included, and a million 64-bit
// pointers alone take 8 MiB. The compiler can't know that, so the branch
// stays, and so does the package it calls.
const never = 1 << 20

func main() {
	if len(os.Args) == never {
		c, err := net.Dial("tcp", os.Args[1])
		if err == nil {
			c.Close()
		}
	}
	fmt.Println("hello, world")
}
