package exec

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestResolve(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	for _, d := range []string{a, b, filepath.Join(a, "isdir")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write := func(p string, mode os.FileMode) {
		if err := os.WriteFile(p, []byte("#!/bin/sh\n"), mode); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(a, "noexec"), 0o644)
	write(filepath.Join(b, "noexec"), 0o644)
	write(filepath.Join(a, "shadowed"), 0o644)
	write(filepath.Join(b, "shadowed"), 0o755)
	write(filepath.Join(b, "tool"), 0o755)
	write(filepath.Join(a, "tool"), 0o755)
	if err := os.Symlink("missing", filepath.Join(a, "dangling")); err != nil {
		t.Fatal(err)
	}
	t.Chdir(b)
	path := a + ":" + b

	tests := []struct {
		name, path string
		argv       []string
		wantPath   string
		wantErr    error
	}{
		{"first in PATH wins", path, []string{"tool", "x"}, filepath.Join(a, "tool"), nil},
		{"non-executable skipped", path, []string{"shadowed"}, filepath.Join(b, "shadowed"), nil},
		{"only non-executable", path, []string{"noexec"}, "", ErrNotExecutable},
		{"directory", path, []string{"isdir"}, "", ErrNotFound},
		{"missing", path, []string{"nope"}, "", ErrNotFound},
		{"dangling symlink", path, []string{"dangling"}, "", ErrNotFound},
		{"a file in PATH is skipped", filepath.Join(b, "tool") + ":" + a, []string{"tool"}, filepath.Join(a, "tool"), nil},
		{"a file in PATH: not found", filepath.Join(b, "tool"), []string{"nope"}, "", ErrNotFound},
		{"empty PATH entry is the current directory", a + "::", []string{"tool"}, filepath.Join(a, "tool"), nil},
		{"current directory reached", "::" + a, []string{"shadowed"}, "./shadowed", nil},
		{"slash: as given", "", []string{filepath.Join(b, "tool")}, filepath.Join(b, "tool"), nil},
		{"slash: relative", "", []string{"./tool"}, "./tool", nil},
		{"slash: not PATH-searched", path, []string{"./nope"}, "", ErrNotFound},
		{"slash: directory", "", []string{a}, "", ErrNotExecutable},
		{"slash: not executable", "", []string{filepath.Join(a, "noexec")}, "", ErrNotExecutable},
		{"empty name", path, []string{""}, "", ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd, err := Resolve(tt.argv, tt.path)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Fatalf("have %v, want %v", err, tt.wantErr)
			}
			if cmd.Path != tt.wantPath {
				t.Errorf("path: have %q, want %q", cmd.Path, tt.wantPath)
			}
			if err == nil && &cmd.Args[0] != &tt.argv[0] {
				t.Errorf("argv was copied or changed: %q", cmd.Args)
			}
		})
	}
}

func TestSearchPath(t *testing.T) {
	tests := []struct {
		value string
		set   bool
		want  string
	}{
		{"", false, "/bin:/usr/bin"},
		{"", true, ""},
		{"/a:/b", true, "/a:/b"},
		{"/a:", true, "/a:"},
	}
	for _, tt := range tests {
		if have := SearchPath(tt.value, tt.set); have != tt.want {
			t.Errorf("SearchPath(%q, %v): have %q, want %q", tt.value, tt.set, have, tt.want)
		}
	}
}

// An unset PATH searches /bin and /usr/bin, not the current directory; an
// empty one searches the current directory.
func TestResolveUnsetPATH(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "tool"), elfFile(0, ""), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)

	_, err := Resolve([]string{"tool"}, SearchPath("", false))
	if want := `command "tool": not found in PATH "/bin:/usr/bin"`; err == nil || err.Error() != want {
		t.Errorf("unset: have %v, want %s", err, want)
	}
	cmd, err := Resolve([]string{"tool"}, SearchPath("", true))
	if err != nil || cmd.Path != "./tool" {
		t.Errorf("empty: have %q, %v, want ./tool", cmd.Path, err)
	}
	if _, err := os.Stat("/bin/sh"); err != nil {
		t.Skip("no /bin/sh")
	}
	cmd, err = Resolve([]string{"sh"}, SearchPath("", false))
	if err != nil || cmd.Path != "/bin/sh" {
		t.Errorf("unset: have %q, %v, want /bin/sh", cmd.Path, err)
	}
}

// elfFile returns a 64-bit little-endian ELF file for machine with one
// program header: a PT_INTERP naming loader, past the first 256 bytes as
// in real binaries, or a PT_LOAD if loader is "".
func elfFile(machine uint16, loader string) []byte {
	b := make([]byte, 512)
	copy(b, "\x7fELF\x02\x01\x01")
	le := binary.LittleEndian
	le.PutUint16(b[18:], machine)
	le.PutUint64(b[32:], 64) // e_phoff
	le.PutUint16(b[54:], 56) // e_phentsize
	le.PutUint16(b[56:], 1)  // e_phnum
	ph := b[64:]
	le.PutUint32(ph, 1) // PT_LOAD
	if loader != "" {
		le.PutUint32(ph, 3)                          // PT_INTERP
		le.PutUint64(ph[8:], uint64(len(b)))         // p_offset
		le.PutUint64(ph[32:], uint64(len(loader)+1)) // p_filesz
		b = append(append(b, loader...), 0)
	}
	return b
}

func TestResolveFormat(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, data []byte, mode os.FileMode) string {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	// The interpreter: an executable regular file, which is all that is
	// checked of it.
	interp := write("interp", []byte("\x7fELF"), 0o755)
	noexec := write("noexec", []byte("\x7fELF"), 0o644)
	missing := filepath.Join(dir, "missing")
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}

	type formatTest struct {
		name    string
		data    string
		wantErr error  // nil, ErrNotFound (127) or ErrNotExecutable (126)
		wantMsg string // after `command "<file>": `
	}
	tests := []formatTest{
		{"ELF", "\x7fELF\x02\x01\x01", nil, ""},
		{"script", "#!" + interp + "\necho hi\n", nil, ""},
		{"script, spaces and an argument", "#!  " + interp + "  -x -y \n", nil, ""},
		{"script, tab", "#!\t" + interp + "\n", nil, ""},
		{"script, no newline", "#!" + interp, nil, ""},
		{"script, NUL ends the interpreter", "#!" + interp + "\x00junk\n", nil, ""},
		{"script, CRLF after an argument (execve runs it)", "#!" + interp + " -e\r\n", nil, ""},
		{"script, #! line past 256 bytes (up to execve)", "#!/" + strings.Repeat("x", 300), nil, ""},
		{"binary not ELF (up to execve and binfmt_misc)", "MZ\x90\x00\x03\x00", nil, ""},
		{"interpreter missing", "#!" + missing + " -e\n", ErrNotFound,
			fmt.Sprintf("its interpreter %q (from the #! line) not found", missing)},
		{"interpreter missing, CRLF", "#!" + interp + "\r\necho hi\r\n", ErrNotFound,
			fmt.Sprintf("its interpreter %q (from the #! line) not found\nhint: the file has Windows (CRLF) line endings: convert them to LF", interp+"\r")},
		{"interpreter missing, CRLF, missing without CR too", "#!" + missing + "\r\n", ErrNotFound,
			fmt.Sprintf("its interpreter %q (from the #! line) not found", missing+"\r")},
		{"interpreter not executable", "#!" + noexec + "\n", ErrNotExecutable,
			fmt.Sprintf("its interpreter %q (from the #! line) is not executable: permission denied", noexec)},
		{"interpreter a directory", "#! " + dir + "\n", ErrNotExecutable,
			fmt.Sprintf("its interpreter %q (from the #! line) is not executable: is a directory", dir)},
		{"no interpreter", "#!  \necho hi\n", ErrNotExecutable,
			"not an executable format (no interpreter on the #! line)"},
		{"no #! line", "echo hi\n", ErrNotExecutable,
			`not an executable format (no #! line and not ELF)` + "\nhint: " + `a script needs a #! line, such as "#!/bin/sh"`},
		{"no #! line, blank first", "\n#!/bin/sh\n", ErrNotExecutable,
			`not an executable format (no #! line and not ELF)` + "\nhint: " + `a script needs a #! line, such as "#!/bin/sh"`},
		{"empty", "", ErrNotExecutable, "not an executable format (an empty file)"},
	}
	if m := elfMachine(); m != 0 {
		tests = append(tests, []formatTest{
			{"ELF, loader present", string(elfFile(m, interp)), nil, ""},
			{"ELF, statically linked", string(elfFile(m, "")), nil, ""},
			{"ELF, another machine's loader missing", string(elfFile(m+1, missing)), nil, ""},
			{"ELF, loader missing", string(elfFile(m, missing)), ErrNotFound,
				fmt.Sprintf("its dynamic loader %q is missing\nhint: the binary is dynamically linked against a libc the image lacks (such as a glibc binary on Alpine or scratch)", missing)},
		}...)
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := write(fmt.Sprint("cmd", i), []byte(tt.data), 0o755)
			_, err := Resolve([]string{p}, "")
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Fatalf("have %v, want %v", err, tt.wantErr)
			}
			if tt.wantErr != nil && errors.Is(err, ErrNotFound) == errors.Is(err, ErrNotExecutable) {
				t.Errorf("%v: both or neither of ErrNotFound and ErrNotExecutable", err)
			}
			if want := fmt.Sprintf("command %q: %s", p, tt.wantMsg); err != nil && withHint(err) != want {
				t.Errorf("message:\nhave %s\nwant %s", withHint(err), want)
			}
		})
	}

	t.Run("this test binary", func(t *testing.T) {
		if _, err := Resolve([]string{self}, ""); err != nil {
			t.Error(err)
		}
	})
	t.Run("unreadable", func(t *testing.T) {
		if os.Geteuid() == 0 {
			t.Skip("root reads any file")
		}
		p := write("unreadable", []byte("echo hi\n"), 0o111)
		if _, err := Resolve([]string{p}, ""); err != nil {
			t.Errorf("have %v, want the file left to execve", err)
		}
	})
}

// In PATH, as execvp does, a file whose interpreter is missing or not
// executable is passed over for a later one; a file with no format stops
// the search (execvp would run it with /bin/sh).
func TestResolveFormatInPATH(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good")
	interp := filepath.Join(dir, "interp")
	scripts := map[string]string{
		"good/tool":       "#!" + interp + "\n",
		"nointerp/tool":   "#!" + filepath.Join(dir, "missing") + "\n",
		"nointerp/other":  "#!" + filepath.Join(dir, "missing") + "\n",
		"dirinterp/tool":  "#!" + dir + "\n",
		"dirinterp/other": "#!" + dir + "\n",
		"noformat/tool":   "echo hi\n",
		"interp":          "\x7fELF",
		"nointerp2/other": "#!" + filepath.Join(dir, "missing2") + "\n",
	}
	for name, data := range scripts {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	in := func(dirs ...string) string {
		for i, d := range dirs {
			dirs[i] = filepath.Join(dir, d)
		}
		return strings.Join(dirs, ":")
	}

	tests := []struct {
		name, path, cmd string
		wantPath        string
		wantErr         error
		wantMsg         string
	}{
		{"missing interpreter passed over", in("nointerp", "good"), "tool", filepath.Join(good, "tool"), nil, ""},
		{"interpreter not executable passed over", in("dirinterp", "good"), "tool", filepath.Join(good, "tool"), nil, ""},
		{"no format stops the search", in("noformat", "good"), "tool", "", ErrNotExecutable,
			fmt.Sprintf(`command "tool" (at %q): not an executable format (no #! line and not ELF)`+"\nhint: "+`a script needs a #! line, such as "#!/bin/sh"`, filepath.Join(dir, "noformat/tool"))},
		{"missing interpreter, none else", in("nointerp", "good"), "other", "", ErrNotFound,
			fmt.Sprintf(`command "other" (at %q): its interpreter %q (from the #! line) not found`, filepath.Join(dir, "nointerp/other"), filepath.Join(dir, "missing"))},
		{"first missing interpreter reported", in("nointerp2", "nointerp"), "other", "", ErrNotFound,
			fmt.Sprintf(`command "other" (at %q): its interpreter %q (from the #! line) not found`, filepath.Join(dir, "nointerp2/other"), filepath.Join(dir, "missing2"))},
		{"not executable wins over missing", in("nointerp", "dirinterp"), "other", "", ErrNotExecutable,
			fmt.Sprintf(`command "other" (at %q): its interpreter %q (from the #! line) is not executable: is a directory`, filepath.Join(dir, "dirinterp/other"), dir)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd, err := Resolve([]string{tt.cmd}, tt.path)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Fatalf("have %v, want %v", err, tt.wantErr)
			}
			if cmd.Path != tt.wantPath {
				t.Errorf("path: have %q, want %q", cmd.Path, tt.wantPath)
			}
			if err != nil && withHint(err) != tt.wantMsg {
				t.Errorf("message:\nhave %s\nwant %s", withHint(err), tt.wantMsg)
			}
		})
	}
}

// withHint is err's message, then its hint, if any, on a line of its own,
// as otelwait prints them.
func withHint(err error) string {
	if h := Hint(err); h != "" {
		return err.Error() + "\nhint: " + h
	}
	return err.Error()
}
