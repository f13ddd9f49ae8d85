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
package exec

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
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

// Cmd is a resolved command.
type Cmd struct {
	Path string   // the file execve runs
	Args []string // argv as given, Args[0] included
}

// Resolve finds argv[0] the way execvp(3) does: a name with a slash is used
// as it is; any other name is looked up in each directory of PATH in turn
// (an empty entry is the current directory), and the first executable
// regular file wins. When PATH has a file of that name but none executable,
// the error is ErrNotExecutable, as in a shell.
func Resolve(argv []string, path string) (Cmd, error) {
	if len(argv) == 0 || argv[0] == "" {
		return Cmd{}, fmt.Errorf("command %q: %w", "", ErrNotFound)
	}
	name := argv[0]
	if strings.Contains(name, "/") {
		if err := executable(name); err != nil {
			return Cmd{}, fmt.Errorf("command %q: %w", name, err)
		}
		return Cmd{Path: name, Args: argv}, nil
	}
	var denied error
	for dir := range strings.SplitSeq(path, ":") {
		if dir == "" {
			dir = "."
		}
		p := filepath.Join(dir, name)
		err := executable(p)
		if err == nil {
			if !strings.Contains(p, "/") {
				p = "./" + p
			}
			return Cmd{Path: p, Args: argv}, nil
		}
		// Like a shell, skip directories; remember the first file that
		// exists but can't be executed.
		if denied == nil && errors.Is(err, ErrNotExecutable) && !errors.Is(err, errIsDir) {
			denied = err
		}
	}
	if denied != nil {
		return Cmd{}, fmt.Errorf("command %q: %w", name, denied)
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

// Exec replaces the process with c, with the environment env, and returns
// only if that fails; the
// error then wraps ErrNotFound or ErrNotExecutable. The caller must first
// stop what it started (signal handling, connections): deferred calls do
// not run across execve.
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
