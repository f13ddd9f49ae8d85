package otelconf

import (
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf16"
)

// This file holds the parsers: JVM option variables, java launcher argument files, -D and
// -javaagent options, agent arguments, Java .properties files, OTLP endpoints, header lists and
// durations. Each mirrors the Java code named in its doc comment; none of them does I/O.

// isCSpace reports whether c is white space for C's isspace in the "C" locale, which is what
// HotSpot and the java launcher use to split option variables.
func isCSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}

// trimJava trims like Java's String.trim: every character up to and including U+0020 at either
// end. Multi-byte UTF-8 sequences never contain such bytes, so working on bytes is exact.
func trimJava(s string) string {
	i, j := 0, len(s)
	for i < j && s[i] <= ' ' {
		i++
	}
	for j > i && s[j-1] <= ' ' {
		j--
	}
	return s[i:j]
}

// splitOptionsVar splits the value of JAVA_TOOL_OPTIONS, _JAVA_OPTIONS or JDK_JAVA_OPTIONS into
// options, as HotSpot (Arguments::parse_options_buffer in arguments.cpp) and the java launcher
// (expand in libjli/args.c) both do: tokens are separated by isspace characters; a single- or
// double-quoted run keeps its spaces and loses its quotes, and may sit inside a token
// (-D"a b"c is -Da bc); there are no escapes. An unmatched quote makes the JVM refuse to start.
func splitOptionsVar(s string) ([]string, error) {
	var toks []string
	for i := 0; i < len(s); {
		for i < len(s) && isCSpace(s[i]) {
			i++
		}
		if i == len(s) {
			break
		}
		var b strings.Builder
		for i < len(s) && !isCSpace(s[i]) {
			c := s[i]
			if c != '\'' && c != '"' {
				b.WriteByte(c)
				i++
				continue
			}
			end := strings.IndexByte(s[i+1:], c)
			if end < 0 {
				return nil, errors.New("unmatched quote")
			}
			b.WriteString(s[i+1 : i+1+end])
			i += end + 2
		}
		toks = append(toks, b.String())
	}
	return toks, nil
}

// splitArgFile splits the contents of a java launcher @argfile (nextToken and readArgFile in
// libjli/args.c): white space separates arguments; # starts a comment outside quotes; quotes
// group, and inside them a backslash escapes (\n \r \t \f, anything else stands for itself) and
// a backslash before a line end continues the quoted argument on the next line after its
// leading white space; a line end closes an open quote. Quirks of the C state machine are kept
// (text before an unquoted # in the middle of an argument is dropped).
func splitArgFile(s string) []string {
	const (
		findNext = iota
		inComment
		inQuote
		inEscape
		skipLeadWS
		inToken
	)
	isSpace := func(c byte) bool { return c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '\f' }
	var (
		toks   []string
		parts  []string
		state  = findNext
		quote  = byte('"')
		anchor = 0
	)
scan:
	for i := 0; i < len(s); i++ {
		ch := s[i]
		switch state {
		case findNext, skipLeadWS:
			for isSpace(ch) {
				i++
				if i >= len(s) {
					break scan
				}
				ch = s[i]
			}
			if state == findNext {
				state = inToken
			} else {
				state = inQuote
			}
			anchor = i
		case inEscape:
			if ch == '\n' || ch == '\r' {
				state = skipLeadWS
			} else {
				switch ch {
				case 'n':
					ch = '\n'
				case 'r':
					ch = '\r'
				case 't':
					ch = '\t'
				case 'f':
					ch = '\f'
				}
				parts = append(parts, string(ch))
				state = inQuote
			}
			anchor = i + 1
			continue
		case inComment:
			for ch != '\n' && ch != '\r' {
				i++
				if i >= len(s) {
					break scan
				}
				ch = s[i]
			}
			anchor = i + 1
			state = findNext
			continue
		}
		switch ch {
		case ' ', '\t', '\f', '\n', '\r':
			if state == inQuote && ch != '\n' && ch != '\r' {
				continue
			}
			tok := s[anchor:i]
			if len(parts) > 0 {
				tok = strings.Join(parts, "") + tok
				parts = nil
			}
			toks = append(toks, tok)
			state = findNext
		case '#':
			if state == inQuote {
				continue
			}
			state = inComment
			anchor = i + 1
		case '\\':
			if state != inQuote {
				continue
			}
			parts = append(parts, s[anchor:i])
			state = inEscape
			anchor = i + 1
		case '\'', '"':
			if state == inQuote && quote != ch {
				continue
			}
			if anchor != i {
				parts = append(parts, s[anchor:i])
			}
			anchor = i + 1
			if state == inToken {
				quote = ch
				state = inQuote
			} else {
				state = inToken
			}
		}
	}
	if state == inToken || state == inQuote {
		if anchor < len(s) {
			parts = append(parts, s[anchor:])
		}
		if len(parts) > 0 {
			toks = append(toks, strings.Join(parts, ""))
		}
	}
	return toks
}

// parseDefine parses a -Dkey=value JVM option as HotSpot does: the key ends at the first '=',
// and -Dkey alone sets key to the empty string. ok is false when opt is not a -D option or
// its key is empty.
func parseDefine(opt string) (key, value string, ok bool) {
	return cutOption(opt, "-D")
}

// parseJavaagent parses -javaagent:<jar>[=<options>] as the JVM's instrument library does: the
// jar path ends at the first '='.
func parseJavaagent(opt string) (jar, args string, ok bool) {
	return cutOption(opt, "-javaagent:")
}

// cutOption splits prefix NAME[=VALUE] at the first '='; ok is false when opt does not start
// with prefix or NAME is empty.
func cutOption(opt, prefix string) (name, value string, ok bool) {
	rest, found := strings.CutPrefix(opt, prefix)
	if !found {
		return "", "", false
	}
	name, value, _ = strings.Cut(rest, "=")
	return name, value, name != ""
}

// property is one key=value pair, with the key as written.
type property struct {
	key, value string
}

// parseAgentArgs parses the OpenTelemetry agent's argument string (AgentInitializer
// .setSystemProperties in opentelemetry-java-instrumentation): options are separated by ';'
// (Java's split, so trailing empty options vanish), each is split at its first '=', and key and
// value are trimmed like String.trim. An option without '=' is malformed and skipped by the
// agent; an empty key would make System.setProperty throw, so it is reported as malformed too.
// The first release of this code (agent 2.15) instead required exactly one '=' per option.
func parseAgentArgs(s string) (props []property, malformed []string) {
	opts := strings.Split(s, ";")
	for len(opts) > 0 && opts[len(opts)-1] == "" {
		opts = opts[:len(opts)-1]
	}
	for _, opt := range opts {
		k, v, found := strings.Cut(opt, "=")
		k, v = trimJava(k), trimJava(v)
		if !found || k == "" {
			malformed = append(malformed, opt)
			continue
		}
		props = append(props, property{k, v})
	}
	return props, malformed
}

// parseProperties parses a Java .properties file the way java.util.Properties.load(Reader)
// does: logical lines joined by an odd number of trailing backslashes (leading white space of
// the continuation dropped), # and ! comment lines, keys ending at the first unescaped '=', ':'
// or white space, escapes \t \n \r \f and \uXXXX (other escaped characters stand for
// themselves). A malformed \uXXXX makes Properties.load throw, which is an error here. Pairs are
// returned in file order; a later duplicate wins, as with Properties.put.
func parseProperties(s string) ([]property, error) {
	in := []rune(s) // invalid UTF-8 becomes U+FFFD, like the agent's InputStreamReader
	var props []property
	off := 0
	line := make([]rune, 0, 128)
	for lineNo := 1; ; lineNo++ {
		var ok bool
		line, off, ok = readPropertiesLine(in, off, line[:0])
		if !ok {
			return props, nil
		}
		keyLen, valueStart := 0, len(line)
		hasSep, backslash := false, false
		for keyLen < len(line) {
			c := line[keyLen]
			if (c == '=' || c == ':') && !backslash {
				valueStart, hasSep = keyLen+1, true
				break
			}
			if (c == ' ' || c == '\t' || c == '\f') && !backslash {
				valueStart = keyLen + 1
				break
			}
			backslash = c == '\\' && !backslash
			keyLen++
		}
		for valueStart < len(line) {
			c := line[valueStart]
			if c != ' ' && c != '\t' && c != '\f' {
				if hasSep || (c != '=' && c != ':') {
					break
				}
				hasSep = true
			}
			valueStart++
		}
		key, err := unescapeProperty(line[:keyLen])
		if err != nil {
			return nil, fmt.Errorf("logical line %d: %w", lineNo, err)
		}
		value, err := unescapeProperty(line[valueStart:])
		if err != nil {
			return nil, fmt.Errorf("logical line %d: %w", lineNo, err)
		}
		props = append(props, property{key, value})
	}
}

// readPropertiesLine reads the next logical line from in at off, following
// java.util.Properties.LineReader.readLine. It returns the line (continuation backslashes
// removed), the new offset, and false at the end of input.
func readPropertiesLine(in []rune, off int, line []rune) ([]rune, int, bool) {
	skipWS, appended, backslash := true, false, false
	for {
		if off >= len(in) {
			if len(line) == 0 {
				return line, off, false
			}
			if backslash {
				line = line[:len(line)-1]
			}
			return line, off, true
		}
		c := in[off]
		off++
		if skipWS {
			if c == ' ' || c == '\t' || c == '\f' {
				continue
			}
			if !appended && (c == '\r' || c == '\n') {
				continue
			}
			skipWS, appended = false, false
		}
		if len(line) == 0 && (c == '#' || c == '!') {
			for off < len(in) && in[off] != '\n' && in[off] != '\r' {
				off++
			}
			if off < len(in) {
				off++ // the line end, as the comment loop in LineReader consumes it
			}
			skipWS = true
			continue
		}
		if c != '\n' && c != '\r' {
			line = append(line, c)
			backslash = c == '\\' && !backslash
			continue
		}
		if len(line) == 0 {
			skipWS = true
			continue
		}
		if off >= len(in) || !backslash {
			if backslash {
				line = line[:len(line)-1]
			}
			return line, off, true
		}
		line = line[:len(line)-1]
		skipWS, appended, backslash = true, true, false
		if c == '\r' && in[off] == '\n' {
			off++
		}
	}
}

// unescapeProperty applies Properties.loadConvert. \uXXXX produces one UTF-16 code unit, so
// escaped surrogate pairs combine; an unpaired surrogate becomes U+FFFD.
func unescapeProperty(in []rune) (string, error) {
	out := make([]uint16, 0, len(in))
	for i := 0; i < len(in); i++ {
		c := in[i]
		if c != '\\' || i+1 == len(in) {
			out = utf16.AppendRune(out, c)
			continue
		}
		i++
		switch c = in[i]; c {
		case 'u':
			if i+5 > len(in) {
				return "", errors.New(`malformed \uxxxx escape`)
			}
			var u uint16
			for _, h := range in[i+1 : i+5] {
				d, ok := hexDigit(h)
				if !ok {
					return "", errors.New(`malformed \uxxxx escape`)
				}
				u = u<<4 | d
			}
			out = append(out, u)
			i += 4
		case 't':
			out = append(out, '\t')
		case 'r':
			out = append(out, '\r')
		case 'n':
			out = append(out, '\n')
		case 'f':
			out = append(out, '\f')
		default:
			out = utf16.AppendRune(out, c)
		}
	}
	return string(utf16.Decode(out)), nil
}

func hexDigit(r rune) (uint16, bool) {
	switch {
	case r >= '0' && r <= '9':
		return uint16(r - '0'), true
	case r >= 'a' && r <= 'f':
		return uint16(r - 'a' + 10), true
	case r >= 'A' && r <= 'F':
		return uint16(r - 'A' + 10), true
	}
	return 0, false
}

// endpoint is an OTLP endpoint URL split the way java.net.URL splits it.
type endpoint struct {
	scheme    string // lower case, "http" or "https"
	authority string // as written: [userinfo@]host[:port]
	userinfo  bool
	host      string
	port      int    // -1 when the URL has none
	path      string // as written, "" or starting with '/'
}

// String returns the URL as java.net.URL.toString would print it.
func (e endpoint) String() string {
	return e.scheme + "://" + e.authority + e.path
}

// parseEndpoint parses an OTLP endpoint as OtlpConfigUtil.validateEndpoint sees it through
// java.net.URL: surrounding characters up to U+0020 are trimmed, the scheme is case-insensitive
// and must be http or https, and a query or fragment is rejected. Unlike java.net.URL it also
// rejects what the exporter could never connect to: no host, a host with spaces or control
// characters, more than one '@', a port that is not a number from 0 to 65535, an unparsable IPv6
// literal.
func parseEndpoint(raw string) (endpoint, error) {
	s := trimJava(raw)
	colon := strings.IndexByte(s, ':')
	if colon <= 0 || !validScheme(s[:colon]) {
		return endpoint{}, errors.New("not an absolute url (want http://host:port or https://host:port)")
	}
	e := endpoint{scheme: strings.ToLower(s[:colon]), port: -1}
	if e.scheme != "http" && e.scheme != "https" {
		return endpoint{}, fmt.Errorf("scheme %q is not http or https", s[:colon])
	}
	rest := s[colon+1:]
	if i := strings.IndexByte(rest, '#'); i >= 0 {
		return endpoint{}, errors.New("an otlp endpoint must not have a fragment")
	}
	if i := strings.IndexByte(rest, '?'); i >= 0 {
		return endpoint{}, errors.New("an otlp endpoint must not have a query string")
	}
	rest, ok := strings.CutPrefix(rest, "//")
	if !ok {
		return endpoint{}, errors.New("missing host (want http://host:port or https://host:port)")
	}
	e.authority, e.path = rest, ""
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		e.authority, e.path = rest[:i], rest[i:]
	}
	hostport := e.authority
	if i := strings.LastIndexByte(hostport, '@'); i >= 0 {
		if strings.IndexByte(hostport, '@') != i {
			return endpoint{}, errors.New("more than one '@' in the host part")
		}
		e.userinfo, hostport = true, hostport[i+1:]
	}
	portText, hasPort := "", false
	if strings.HasPrefix(hostport, "[") {
		end := strings.IndexByte(hostport, ']')
		if end < 0 {
			return endpoint{}, errors.New("unterminated ipv6 address")
		}
		if _, err := netip.ParseAddr(hostport[1:end]); err != nil {
			return endpoint{}, fmt.Errorf("invalid ipv6 address %q", hostport[1:end])
		}
		e.host = hostport[:end+1]
		after := hostport[end+1:]
		if after != "" {
			if after[0] != ':' {
				return endpoint{}, fmt.Errorf("unexpected %q after the ipv6 address", after)
			}
			portText, hasPort = after[1:], true
		}
	} else {
		e.host, portText, hasPort = strings.Cut(hostport, ":")
	}
	if e.host == "" {
		return endpoint{}, errors.New("missing host (want http://host:port or https://host:port)")
	}
	if strings.ContainsFunc(e.host, func(r rune) bool { return r <= ' ' }) {
		return endpoint{}, fmt.Errorf("invalid host %q", e.host)
	}
	if hasPort && portText != "" {
		p, err := strconv.ParseUint(portText, 10, 16)
		if err != nil || portText[0] == '+' {
			return endpoint{}, fmt.Errorf("invalid port %q", portText)
		}
		e.port = int(p)
	}
	return e, nil
}

// validScheme mirrors java.net.URL.isValidProtocol: a letter, then letters, digits, '.', '+'
// or '-'.
func validScheme(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		letter := (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
		if !letter && (i == 0 || !((c >= '0' && c <= '9') || c == '.' || c == '+' || c == '-')) {
			return false
		}
	}
	return s != ""
}

// parseHeaders checks an OTLP header list the way DefaultConfigProperties.getMap and
// OtlpConfigUtil.configureOtlpExporterBuilder read it: comma-separated entries, blank entries
// ignored, each split at its first '=' with a non-empty key, both sides trimmed, entries whose
// value is empty dropped, values URL-decoded. It returns the headers as "Name: value" lines.
// What the SDK rejects (an entry without '=', a value that is not URL-encoded) makes it refuse
// to start; a name that is not an HTTP token (RFC 9110: no spaces, colons or other separators)
// or a decoded value with control characters is rejected by the exporter's HTTP client, or sent
// as another header, and OkHttp, the agent's HTTP client, rejects a value with any character
// beyond printable ASCII and tab on every export; so all of these are errors too. Errors say
// why, quote names but never values (they may be secrets), and leave naming the setting to the
// caller.
func parseHeaders(s string) ([]string, error) {
	var lines []string
	for i, entry := range strings.Split(s, ",") {
		entry = trimJava(entry)
		if entry == "" {
			continue
		}
		k, v, found := strings.Cut(entry, "=")
		if !found || k == "" {
			return nil, fmt.Errorf("entry %d is not key=value: the java sdk refuses to start", i+1)
		}
		k, v = trimJava(k), trimJava(v)
		if k == "" || v == "" {
			continue
		}
		if !isToken(k) {
			return nil, fmt.Errorf("header name %q is not an http token (letters, digits and !#$%%&'*+-.^_`|~): the exporter can't send it as written", k)
		}
		dv, err := url.QueryUnescape(v)
		if err != nil {
			return nil, fmt.Errorf("value of header %q is not url-encoded: the java sdk refuses to start", k)
		}
		if strings.ContainsFunc(dv, func(r rune) bool { return (r < ' ' && r != '\t') || r == 0x7f }) {
			return nil, fmt.Errorf("value of header %q holds a control character once url-decoded: the exporter can't send it as written", k)
		}
		if strings.ContainsFunc(dv, func(r rune) bool { return r > 0x7f }) {
			return nil, fmt.Errorf("value of header %q holds a non-ascii character once url-decoded: okhttp, the agent's http client, takes printable ascii only, and every export fails", k)
		}
		lines = append(lines, k+": "+dv)
	}
	return lines, nil
}

// isToken reports whether s is an HTTP token (RFC 9110 section 5.6.2), as header names must be.
func isToken(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !isNameChar(c) && !strings.ContainsRune("!#$%&'*+-.^`|~", rune(c)) {
			return false
		}
	}
	return s != ""
}

// validDuration checks a duration the way DefaultConfigProperties.getDuration parses it: an
// integer followed by an optional unit (ns, us, ms, s, m, h, d; none means ms). The exporter
// builders also reject negative timeouts.
func validDuration(s string) bool {
	i := len(s)
	for i > 0 && (s[i-1] < '0' || s[i-1] > '9') {
		i--
	}
	n, err := strconv.ParseInt(trimJava(s[:i]), 10, 64)
	if err != nil || n < 0 {
		return false
	}
	switch trimJava(s[i:]) {
	case "", "ns", "us", "ms", "s", "m", "h", "d":
		return true
	}
	return false
}

// splitList splits a comma-separated list like DefaultConfigProperties.getList: entries are
// trimmed and blank ones dropped.
func splitList(s string) []string {
	var out []string
	for _, e := range strings.Split(s, ",") {
		if e = trimJava(e); e != "" {
			out = append(out, e)
		}
	}
	return out
}

// normProperty normalises a system property or properties-file key (ConfigUtil
// .normalizePropertyKey): lower case, '-' becomes '.'.
func normProperty(k string) string {
	return strings.ReplaceAll(strings.ToLower(k), "-", ".")
}

// normEnv normalises an environment variable name (ConfigUtil.normalizeEnvironmentVariableKey):
// lower case, '_' becomes '.'.
func normEnv(k string) string {
	return strings.ReplaceAll(strings.ToLower(k), "_", ".")
}
