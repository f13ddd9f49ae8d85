// Command nethttp is bench/cmd/hello with package net/http (and with it
// net and crypto/tls) linked in but never called: the harness compares its
// start with the hello world's to show what linking net/http costs a Go
// program's start.
package main

import (
	"fmt"
	"net/http"
	"os"
)

// never is an argument count no exec can pass (see bench/cmd/floor/net).
const never = 1 << 20

func main() {
	if len(os.Args) == never {
		resp, err := (&http.Client{}).Get(os.Args[1])
		if err == nil {
			resp.Body.Close()
		}
	}
	fmt.Println("hello, world")
}
