// Command floor is bench/cmd/hello with one more package of the standard
// library linked in but never called, chosen by a build tag: floor_net
// (net), floor_tls (crypto/tls) or floor_nethttp (net/http). The harness
// compares its start with the hello world's to show what linking that
// package costs a Go program's start. Built without a tag, it is the hello
// world.
package main

import (
	"fmt"
	"os"
)

// never is an argument count no exec can pass: Linux caps argv and the
// environment at 6 MiB, their pointers included, and a million 64-bit
// pointers alone take 8 MiB. The compiler can't know that, so the branch
// stays, and so does the package link calls.
const never = 1 << 20

func main() {
	if len(os.Args) == never {
		link(os.Args)
	}
	fmt.Println("hello, world")
}
