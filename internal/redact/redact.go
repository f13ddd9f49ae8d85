// Package redact hides what a URL's query may carry in secret, the same way
// wherever otelwait shows a URL: in logs, errors and --explain.
package redact

import "strings"

// Query returns the raw query q (without "?") with every value replaced by
// "redacted", and an entry without '=', which may be a bare token, replaced
// whole; names and order are kept.
func Query(q string) string {
	if q == "" {
		return ""
	}
	entries := strings.Split(q, "&")
	for i, e := range entries {
		if k, _, ok := strings.Cut(e, "="); ok {
			entries[i] = k + "=redacted"
		} else if e != "" {
			entries[i] = "redacted"
		}
	}
	return strings.Join(entries, "&")
}
