package main

import (
	"debug/elf"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// buildStatic builds otelwait as the Dockerfile does, with version set.
func buildStatic(t *testing.T, version string) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := filepath.Join(t.TempDir(), "otelwait")
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w -X main.version="+version, "-o", bin, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// The image is FROM scratch: the binary must need no interpreter and no
// shared library.
func TestBinaryIsStatic(t *testing.T) {
	bin := buildStatic(t, "v9.9.9-test")
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			t.Errorf("program header %v: the binary is dynamically linked", p.Type)
		}
	}
	if s := f.Section(".dynamic"); s != nil {
		t.Error("the binary has a .dynamic section")
	}
	if libs, _ := f.ImportedLibraries(); len(libs) > 0 {
		t.Errorf("the binary needs %v", libs)
	}
	if f.Section(".symtab") != nil {
		t.Error("the binary has a symbol table: -s was not applied")
	}
	out, err := exec.Command(bin, "--version").Output()
	if err != nil || strings.TrimSpace(string(out)) != "v9.9.9-test" {
		t.Errorf("--version: have %q, %v; want the version set at build time", out, err)
	}
}

// In a root directory holding nothing but the binary, otelwait waits for a
// real listener and execs a static command (itself, for its version).
func TestRunsInEmptyRoot(t *testing.T) {
	bin := buildStatic(t, "v0-empty-root")
	root := t.TempDir()
	data, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "otelwait"), data, 0o755); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = ln.Close() }()
	cmd := exec.Command("/otelwait", "--tcp", ln.Addr().String(), "--timeout", "10s", "--", "/otelwait", "--version")
	cmd.Dir = "/"
	cmd.Env = []string{} // nothing: no PATH, no HOME
	cmd.SysProcAttr = &syscall.SysProcAttr{Chroot: root}
	out, err := cmd.Output()
	if errors.Is(err, syscall.EPERM) || os.Geteuid() != 0 {
		t.Skipf("chroot not permitted here (%v, uid %d): run the tests as root to check the empty root", err, os.Geteuid())
	}
	if err != nil {
		var stderr []byte
		if ee, ok := errors.AsType[*exec.ExitError](err); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("in an empty root: %v\n%s", err, stderr)
	}
	if strings.TrimSpace(string(out)) != "v0-empty-root" {
		t.Errorf("have %q, want the exec'd otelwait's version", out)
	}
	entries, _ := os.ReadDir(root)
	if len(entries) != 1 {
		t.Errorf("the root holds %d entries, want only the binary", len(entries))
	}
}
