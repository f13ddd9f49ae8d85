package redact

import "testing"

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
