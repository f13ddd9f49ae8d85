// Package redact hides what a target or an endpoint may carry in secret, the
// same way wherever otelwait shows one: in logs, errors and --explain.
package redact

import (
	"net/url"
	"strconv"
	"strings"
)

// URL returns s, a URL or a HOST:PORT as typed, with the password of its
// userinfo replaced by "xxxxx" (as net/url's URL.Redacted has it), or the
// whole userinfo when it has no password, and its
// query redacted as Query does. It works on the text, so that what fails to
// parse is shown as typed but for its secrets.
//
// The authority follows the first "//" (so x=http://u:p@h and //u:p@h are
// read too), or starts the text when it has none (u:p@h:1); a userinfo
// typed where a scheme goes (u:p@h://x) is hidden as well. Where net/url
// parses s, the authority ends where net/url ends it, at the first '/', '?'
// or '#'. Where it doesn't, a '/', '?' or '#' typed unescaped in a password
// may be what broke it, so the authority is taken to run to the last '@':
// showing too little is the safe mistake. The password is what lies between
// the authority's first ':' and its last '@'. The query is what follows the
// first '?' up to the first '#'.
func URL(s string) string {
	if i := strings.Index(s, "//"); i >= 0 {
		auth := s[i+2:]
		if u, err := url.Parse(s); err == nil && (u.Host != "" || u.User != nil) {
			if end := strings.IndexAny(auth, "/?#"); end >= 0 {
				auth = auth[:end]
			}
		}
		// A bare user name after "//" only where a scheme ends, not in a
		// path such as /etc//ca@v2.pem.
		s = userinfo(s[:i], true) + "//" + userinfo(auth, i == 0 || s[i-1] == ':') + s[i+2+len(auth):]
	} else {
		s = userinfo(s, true)
	}
	frag := ""
	if i := strings.IndexByte(s, '#'); i >= 0 {
		s, frag = s[:i], s[i:]
	}
	if i := strings.IndexByte(s, '?'); i >= 0 {
		s = s[:i+1] + Query(s[i+1:])
	}
	return s + frag
}

// Problem returns msg, a complaint about raw such as a parser's error,
// with every quoted part of it (as %q quotes) that is taken from raw but
// hidden by URL(raw) replaced by "(redacted)". Parsers quote the part at
// fault: for http://u:hunter2#x@h/, whose unescaped '#' makes the password
// a port, net/url says invalid port ":hunter2" after host.
func Problem(raw, msg string) string {
	shown := URL(raw)
	var b strings.Builder
	for {
		i := strings.IndexByte(msg, '"')
		if i < 0 {
			break
		}
		quoted, err := strconv.QuotedPrefix(msg[i:])
		if err != nil {
			break
		}
		b.WriteString(msg[:i])
		part, _ := strconv.Unquote(quoted)
		if part != "" && strings.Contains(raw, part) && !strings.Contains(shown, part) {
			b.WriteString("(redacted)")
		} else {
			b.WriteString(quoted)
		}
		msg = msg[i+len(quoted):]
	}
	return b.String() + msg
}

// userinfo redacts the password in auth, the text where an authority may be,
// or with bare the whole userinfo when it has no password and no '/', which
// a file's path would have: a token is often written as a bare user name
// (https://TOKEN@host).
func userinfo(auth string, bare bool) string {
	at := strings.LastIndexByte(auth, '@')
	if at < 0 {
		return auth
	}
	colon := strings.IndexByte(auth[:at], ':')
	switch {
	case colon >= 0:
		return auth[:colon+1] + "xxxxx" + auth[at:]
	case bare && !strings.Contains(auth[:at], "/"):
		return "xxxxx" + auth[at:]
	}
	return auth
}

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
