// Package exec resolves the command otelwait runs and replaces otelwait
// with it.
//
// The command is resolved before any waiting, so that a typo fails in
// milliseconds rather than after the timeout, and exec'd with execve(2):
// the same PID, argv exactly as given (argv[0] included; no shell, no
// variable expansion, no re-quoting), the environment unchanged, and
// stdin, stdout and stderr untouched. Descriptors otelwait opens are
// close-on-exec, so none leaks into the command; descriptors otelwait
// inherited are passed on as they came (socket activation keeps working).
//
// Because of what Go does when otelwait starts, four things don't reach
// the command unchanged:
//   - A signal ignored by otelwait's parent, other than SIGHUP and SIGINT,
//     is back at its default action in the command: the runtime installs
//     its own handler for it, and execve resets caught signals.
//   - A signal blocked by the parent is unblocked in the command if the
//     runtime needs it (SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGCHLD, SIGURG,
//     SIGPROF and the fault signals); others, such as SIGUSR1, stay blocked.
//   - A stdin, stdout or stderr closed when otelwait started is open on
//     /dev/null in the command: the runtime opens it there at start.
//   - Of several environment entries with the same name, only the first
//     reaches the command: Go drops the later ones when it first reads the
//     environment.
package exec

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
)

// Errors that say why a command can't be run; the shell's exit codes for
// them are 127 and 126.
var (
	ErrNotFound      = errors.New("not found")
	ErrNotExecutable = errors.New("not executable")
)

var errIsDir = errors.New("is a directory")

// DefaultPath is the search path when PATH is unset, as in glibc's
// execvp(3).
const DefaultPath = "/bin:/usr/bin"

// SearchPath returns the search path for Resolve from the value of PATH
// and whether it is set, as os.LookupEnv("PATH") returns them: DefaultPath
// when PATH is unset, its value otherwise, even empty (an empty PATH, like
// an empty entry in one, means the current directory).
func SearchPath(value string, set bool) string {
	if !set {
		return DefaultPath
	}
	return value
}

// Cmd is a resolved command.
type Cmd struct {
	Path string   // the file execve runs
	Args []string // argv as given, Args[0] included
}

// Resolve finds argv[0] the way execvp(3) does, in path, the search path
// (see SearchPath): a name with a slash is used as it is; any other name is
// looked up in each directory of path in turn (an empty entry is the
// current directory), and the first executable regular file wins. When
// path has a file of that name but none executable, the error is
// ErrNotExecutable, as in a shell.
//
// Resolve also reads the start of the file to reject at once what
// execve(2) would: a #! script whose interpreter is missing (ErrNotFound)
// or can't be executed (ErrNotExecutable), a text file with no #! line or
// an empty file (ErrNotExecutable: otelwait, like a container runtime,
// does not fall back to /bin/sh as execvp does), and an ELF binary for
// this machine whose dynamic loader is missing (ErrNotFound). As in
// execvp, a file in path whose interpreter or loader is missing or can't
// be executed is passed over for one later in path. A file that can't be
// read, and a binary format other than ELF (binfmt_misc may know it), is
// left to execve.
func Resolve(argv []string, path string) (Cmd, error) {
	if len(argv) == 0 || argv[0] == "" {
		return Cmd{}, fmt.Errorf("command %q: %w", "", ErrNotFound)
	}
	name := argv[0]
	if strings.Contains(name, "/") {
		err := executable(name)
		if err == nil {
			err = checkFormat(name)
		}
		if err != nil {
			return Cmd{}, fmt.Errorf("command %q: %w", name, err)
		}
		return Cmd{Path: name, Args: argv}, nil
	}
	var denied, missing error
	for dir := range strings.SplitSeq(path, ":") {
		if dir == "" {
			dir = "."
		}
		p := filepath.Join(dir, name)
		err := executable(p)
		if err == nil {
			if err = checkFormat(p); err != nil {
				err = fmt.Errorf("command %q (at %q): %w", name, p, err)
			}
		} else {
			err = fmt.Errorf("command %q: %w", name, err)
		}
		switch {
		case err == nil:
			if !strings.Contains(p, "/") {
				p = "./" + p
			}
			return Cmd{Path: p, Args: argv}, nil
		case errors.Is(err, syscall.ENOEXEC):
			// execvp would run it with /bin/sh, not look further.
			return Cmd{}, err
		case errors.Is(err, errIsDir), errors.Is(err, syscall.ENOTDIR):
			// Like a shell, skip directories; like execvp, entries of
			// PATH that aren't directories.
		case errors.Is(err, ErrNotExecutable):
			// Remember the first file that exists but can't be executed.
			if denied == nil {
				denied = err
			}
		case errors.Is(err, syscall.ENOENT):
			// A missing interpreter or loader, not a missing file.
			if missing == nil {
				missing = err
			}
		}
	}
	switch {
	case denied != nil:
		return Cmd{}, denied
	case missing != nil:
		return Cmd{}, missing
	}
	return Cmd{}, fmt.Errorf("command %q: %w in PATH %q", name, ErrNotFound, path)
}

// executable checks that p is a regular file this process may execute.
func executable(p string) error {
	fi, err := os.Stat(p)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return ErrNotFound
	case err != nil:
		return fmt.Errorf("%w: %w", ErrNotExecutable, err)
	case fi.IsDir():
		return fmt.Errorf("%w: %w", ErrNotExecutable, errIsDir)
	case !fi.Mode().IsRegular():
		return fmt.Errorf("%w: not a regular file", ErrNotExecutable)
	}
	if err := syscall.Access(p, 1 /* X_OK */); err != nil {
		return fmt.Errorf("%w: %w", ErrNotExecutable, err)
	}
	return nil
}

// execError is why execve would refuse a file: errno is what it would
// return, ENOENT (ErrNotFound), EACCES or ENOEXEC (ErrNotExecutable); hint,
// if set, says what to do about it (see Hint).
type execError struct {
	msg   string
	errno syscall.Errno
	hint  string
}

// Hint returns what to do about err, if Resolve knows: "" otherwise.
func Hint(err error) string {
	if e, ok := errors.AsType[*execError](err); ok {
		return e.hint
	}
	return ""
}

func (e *execError) Error() string { return e.msg }

func (e *execError) Unwrap() []error {
	if e.errno == syscall.ENOENT {
		return []error{ErrNotFound, e.errno}
	}
	return []error{ErrNotExecutable, e.errno}
}

// checkFormat reads the start of the executable file p, at most the 256
// bytes the kernel reads, and returns an *execError if execve would refuse
// it (see Resolve), or nil.
func checkFormat(p string) error {
	f, err := os.Open(p)
	if err != nil {
		return nil // executable but not readable: up to execve
	}
	defer func() { _ = f.Close() }()
	buf := make([]byte, 256)
	n, err := io.ReadFull(f, buf)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
		return nil
	}
	buf = buf[:n]
	switch {
	case bytes.HasPrefix(buf, []byte("\x7fELF")):
		return checkLoader(f, buf)
	case bytes.HasPrefix(buf, []byte("#!")):
		return checkInterpreter(buf)
	case n == 0:
		return &execError{"not an executable format (an empty file)", syscall.ENOEXEC, ""}
	case bytes.IndexByte(buf, 0) >= 0:
		return nil // binary, for binfmt_misc to know or not
	}
	return &execError{"not an executable format (no #! line and not ELF)", syscall.ENOEXEC, `a script needs a #! line, such as "#!/bin/sh"`}
}

// checkInterpreter checks the interpreter named by a #! line, parsed from
// buf, the file's first bytes, as the kernel parses it: after "#!" and any
// spaces or tabs, up to a space, tab, NUL or the end of the line. The
// interpreter itself must be an executable regular file; what it is in turn
// is not looked at.
func checkInterpreter(buf []byte) error {
	line, _, ok := bytes.Cut(buf[2:], []byte("\n"))
	if !ok && len(buf) == 256 {
		return nil // the line goes on past what the kernel reads: up to execve
	}
	line = bytes.TrimLeft(line, " \t")
	if i := bytes.IndexAny(line, " \t\x00"); i >= 0 {
		line = line[:i]
	}
	interp := string(line)
	if interp == "" {
		return &execError{"not an executable format (no interpreter on the #! line)", syscall.ENOEXEC, ""}
	}
	err := executable(interp)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ErrNotFound):
		e := &execError{fmt.Sprintf("its interpreter %q (from the #! line) not found", interp), syscall.ENOENT, ""}
		if crlf, ok := strings.CutSuffix(interp, "\r"); ok && executable(crlf) == nil {
			e.hint = "the file has Windows (CRLF) line endings: convert them to LF"
		}
		return e
	}
	return &execError{fmt.Sprintf("its interpreter %q (from the #! line) is %v", interp, err), syscall.EACCES, ""}
}

// checkLoader checks that the dynamic loader (PT_INTERP) of the ELF file f,
// whose first bytes are buf, exists, if f is a 64-bit little-endian ELF for
// this machine (all otelwait ships for): another machine's binary runs, if
// at all, under an emulator (binfmt_misc) that may look for the loader
// elsewhere. What it can't read is up to execve.
func checkLoader(f *os.File, buf []byte) error {
	le := binary.LittleEndian
	if len(buf) < 64 || buf[4] != 2 || buf[5] != 1 || le.Uint16(buf[18:]) != elfMachine() {
		return nil // not ELFCLASS64, ELFDATA2LSB, this e_machine
	}
	phoff, phentsize, phnum := le.Uint64(buf[32:]), int(le.Uint16(buf[54:])), int(le.Uint16(buf[56:]))
	if phentsize < 56 || phentsize*phnum > 1<<16 {
		return nil // as the kernel has it
	}
	phdrs := make([]byte, phentsize*phnum)
	if _, err := f.ReadAt(phdrs, int64(phoff)); err != nil {
		return nil
	}
	for ph := range slices.Chunk(phdrs, phentsize) {
		if le.Uint32(ph) != 3 { // PT_INTERP
			continue
		}
		off, size := le.Uint64(ph[8:]), le.Uint64(ph[32:]) // p_offset, p_filesz
		if size < 2 || size > 4096 {
			return nil
		}
		b := make([]byte, size)
		if _, err := f.ReadAt(b, int64(off)); err != nil {
			return nil
		}
		loader, _, _ := bytes.Cut(b, []byte{0})
		if _, err := os.Stat(string(loader)); errors.Is(err, fs.ErrNotExist) {
			return &execError{fmt.Sprintf("its dynamic loader %q is missing", loader), syscall.ENOENT,
				"the binary is dynamically linked against a libc the image lacks (such as a glibc binary on Alpine or scratch)"}
		}
		return nil
	}
	return nil // statically linked
}

// elfMachine returns the ELF e_machine of the machine otelwait is built
// for, if it is one otelwait ships for, or 0.
func elfMachine() uint16 {
	switch runtime.GOARCH {
	case "amd64":
		return 62 // EM_X86_64
	case "arm64":
		return 183 // EM_AARCH64
	}
	return 0
}

// Exec replaces the process with c, with the environment env, and returns
// only if that fails; the error then wraps ErrNotFound or
// ErrNotExecutable. The caller must first stop what it started (signal
// handling, connections): deferred calls do not run across execve.
func (c Cmd) Exec(env []string) error {
	err := syscall.Exec(c.Path, c.Args, env)
	switch {
	case errors.Is(err, syscall.ENOENT):
		err = fmt.Errorf("%w: %w", ErrNotFound, err)
	default:
		err = fmt.Errorf("%w: %w", ErrNotExecutable, err)
	}
	return fmt.Errorf("exec %q: %w", c.Path, err)
}
