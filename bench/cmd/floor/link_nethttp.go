//go:build floor_nethttp

package main

import "net/http"

func link(args []string) {
	if resp, err := http.Get(args[1]); err == nil {
		_ = resp.Body.Close()
	}
}
