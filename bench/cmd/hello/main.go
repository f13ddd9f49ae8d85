// Command hello is the Go hello-world program whose start-up the harness
// compares otelwait's ready path with.
package main

import "fmt"

func main() {
	fmt.Println("hello, world")
}
