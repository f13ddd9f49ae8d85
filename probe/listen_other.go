//go:build !linux

package probe

// openListenTable has nothing to offer off Linux: refused ports are
// retried on the backoff alone.
func openListenTable() listenTable { return nil }
