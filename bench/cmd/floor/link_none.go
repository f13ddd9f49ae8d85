//go:build !floor_net && !floor_tls && !floor_nethttp

package main

func link([]string) {}
