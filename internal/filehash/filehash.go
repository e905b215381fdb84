// Package filehash hashes files the one way the project records them:
// lower-case hex sha256, as sha256sum prints it. Checkpoints
// (SHA256SUMS), process plugins (their sha256 key) and `rewind plugin
// inspect` all use it, so a digest printed by one is accepted by the
// others.
package filehash

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
)

// SHA256 returns the hex sha256 of the file at path and its size in
// bytes. It streams the file, so any size is fine.
func SHA256(path string) (sum string, size int64, err error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return "", 0, fmt.Errorf("reading %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}
