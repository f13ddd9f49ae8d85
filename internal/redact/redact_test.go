package redact

import (
	"net/url"
	"testing"
)

func TestQuery(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"tok=s3cret", "tok=redacted"},
		{"a=1&b=&bare", "a=redacted&b=redacted&redacted"},
		{"a=1&&b=2", "a=redacted&&b=redacted"},
		{"x=a=b", "x=redacted"},
	}
	for _, tt := range tests {
		if have := Query(tt.in); have != tt.want {
			t.Errorf("Query(%q): have %q, want %q", tt.in, have, tt.want)
		}
	}
}

func TestURL(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"not a url", "not a url"},
		{"localhost:4317", "localhost:4317"},
		{"http://c:4318/v1/traces", "http://c:4318/v1/traces"},
		{"grpc://h:4317/traces/http", "grpc://h:4317/traces/http"},
		// userinfo, with and without a scheme
		{"grpc://user:s3cret@h:4317", "grpc://user:xxxxx@h:4317"},
		{"user:s3cret@h:1", "user:xxxxx@h:1"},
		{"user@h:1", "xxxxx@h:1"},
		{"https://user@c:4318/", "https://xxxxx@c:4318/"},
		{"https://ghp_T0KEN@c:4318/v1/traces", "https://xxxxx@c:4318/v1/traces"},
		// a file's path is not a user name
		{"/etc/otel/ca@v2.pem", "/etc/otel/ca@v2.pem"},
		{"/etc//ca@v2.pem", "/etc//ca@v2.pem"},
		{"http://:s3cret@c", "http://:xxxxx@c"},
		{"http://u:s3^cret@h/", "http://u:xxxxx@h/"},
		// '@' in the user name, in the password, in the path
		{"ftp://a@b:s3cret@h/p@q:r", "ftp://a@b:xxxxx@h/p@q:r"},
		{"http://a:s3cret@b@c:1/p", "http://a:xxxxx@c:1/p"},
		{"http://h/p@q:r", "http://h/p@q:r"},
		// where the scheme goes, or after text that isn't one
		{"u:s3cret@h://x", "u:xxxxx@h://x"},
		{"x=http://u:s3cret@c/?k=v", "x=http://u:xxxxx@c/?k=redacted"},
		// a '#' or '?' typed unescaped in a password
		{"http://u:p#s3cret@h/", "http://u:xxxxx@h/"},
		{"http://u:p?s3cret@h:1/v1/traces", "http://u:xxxxx@h:1/v1/traces"},
		{"http://u:s3cret/x@h:4318", "http://u:xxxxx@h:4318"},
		{"u:s3cret/x@h:1", "u:xxxxx@h:1"},
		// unparsable, so everything to the last '@' may be a userinfo
		{"http://h:4x/?mail=s3cret@b", "http://h:xxxxx@b"},
		// queries and fragments
		{"grpc://h:4317/traces?token=s3cret&x=s3cret&s3cret", "grpc://h:4317/traces?token=redacted&x=redacted&redacted"},
		{"http://c:4318/?tok=s3cret&b=2&bare#frag", "http://c:4318/?tok=redacted&b=redacted&redacted#frag"},
		{"http://c?tok=s3cret", "http://c?tok=redacted"},
		{"h:1?k=s3cret#frag", "h:1?k=redacted#frag"},
		{"//u:s3cret@h/", "//u:xxxxx@h/"},
		{"http://h/?mail=a@b", "http://h/?mail=redacted"},
		{"http://h/#a?b", "http://h/#a?b"},
	}
	for _, tt := range tests {
		if have := URL(tt.in); have != tt.want {
			t.Errorf("URL(%q): have %q, want %q", tt.in, have, tt.want)
		}
	}
}

// Whatever the text, the userinfo that net/url finds in it is not shown: a
// password, or a user name without one, which may be a token. net/url,
// reading what URL shows, finds the mask where the original had them.
func FuzzURL(f *testing.F) {
	for _, s := range []string{"http://u:s3cret@h:1/p?q=s3cret#f", "u:s3cret@h:1", "x=http://u:s3cret@h", "http://u:s#3cret@h/", "https://t0ken@h/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		u, err := url.Parse(s)
		if err != nil || u.User == nil {
			return
		}
		shown := URL(s)
		v, err := url.Parse(shown)
		if err != nil {
			t.Fatalf("URL(%q) = %q, which net/url no longer reads: %v", s, shown, err)
		}
		p, hasP := u.User.Password()
		switch q, ok := v.User.Password(); {
		case hasP && p != "xxxxx" && (!ok || q != "xxxxx"):
			t.Errorf("URL(%q) = %q shows the password %q", s, shown, p)
		case !hasP && u.User.Username() != "" && v.User.Username() != "xxxxx":
			t.Errorf("URL(%q) = %q shows the user name %q", s, shown, u.User.Username())
		}
	})
}

func TestProblem(t *testing.T) {
	tests := []struct{ raw, msg, want string }{
		{"http://u:s3cret#x@h/", `invalid port ":s3cret" after host`, `invalid port (redacted) after host`},
		{"http://u:s3cret/x@h:4318", `invalid port "s3cret"`, `invalid port (redacted)`},
		{"http://h:4x/", `invalid port ":4x" after host`, `invalid port ":4x" after host`},
		{"http://h/%zz", `invalid URL escape "%zz"`, `invalid URL escape "%zz"`},
		{"http://u:s3cret@h:1/?t=tok", `"a" then "s3cret" then "tok" then "b\"c`, `"a" then (redacted) then (redacted) then "b\"c`},
		{"h:1", `no quote`, `no quote`},
	}
	for _, tt := range tests {
		if have := Problem(tt.raw, tt.msg); have != tt.want {
			t.Errorf("Problem(%q, %q): have %q, want %q", tt.raw, tt.msg, have, tt.want)
		}
	}
}
