package exec

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// ErrInstallDir is InstallSelf's error when it can't write in the
// destination's directory.
var ErrInstallDir = errors.New("can't write in")

// InstallSelf copies the running binary to dst, or into dst if it is a
// directory, as an executable file, and returns the path written. The copy
// is written beside its destination and renamed into place, so a
// container that starts from it never sees half a binary. It serves the
// initContainer that puts otelwait into a volume shared with an app image
// that doesn't contain it: otelwait's own image has nothing else to copy
// with.
func InstallSelf(dst string) (string, error) {
	if fi, err := os.Stat(dst); err == nil && fi.IsDir() {
		dst = filepath.Join(dst, "otelwait")
		if fi, err := os.Stat(dst); err == nil && fi.IsDir() {
			return "", fmt.Errorf("install %q: a directory is in the way", dst)
		}
	}
	src, err := os.Open("/proc/self/exe")
	if err != nil {
		return "", fmt.Errorf("install: %w", err)
	}
	defer func() { _ = src.Close() }()
	dir := filepath.Dir(dst)
	tmp, err := os.CreateTemp(dir, ".otelwait-*")
	if err != nil {
		// The temporary file's name would only puzzle.
		if perr, ok := errors.AsType[*fs.PathError](err); ok {
			err = perr.Err
		}
		return "", fmt.Errorf("install %q: %w %q: %w", dst, ErrInstallDir, dir, err)
	}
	defer func() { _ = os.Remove(tmp.Name()) }() // after a successful rename, a no-op
	if _, err := io.Copy(tmp, src); err != nil {
		_ = tmp.Close()
		return "", fmt.Errorf("install %q: %w", dst, err)
	}
	if err := tmp.Chmod(0o755); err != nil {
		_ = tmp.Close()
		return "", fmt.Errorf("install %q: %w", dst, err)
	}
	// On disk before the rename, so that the name never stands for a
	// truncated copy, even after a crash.
	if err := tmp.Sync(); err != nil {
		_ = tmp.Close()
		return "", fmt.Errorf("install %q: %w", dst, err)
	}
	if err := tmp.Close(); err != nil {
		return "", fmt.Errorf("install %q: %w", dst, err)
	}
	if err := os.Rename(tmp.Name(), dst); err != nil {
		if lerr, ok := errors.AsType[*os.LinkError](err); ok {
			err = lerr.Err // it names the temporary file
		}
		return "", fmt.Errorf("install %q: %w", dst, err)
	}
	return dst, nil
}
