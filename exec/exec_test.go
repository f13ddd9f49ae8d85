package exec

import (
	"errors"
	"os"
	"path/filepath"
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
