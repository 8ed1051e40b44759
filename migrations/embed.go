// Package migrations holds the SQL migrations, one folder per dialect, embedded in the binary.
// Files are named YYYYMMDDHHMMSS_what.up.sql (bun's migrator); statements are separated by
// a line "--bun:split". Both folders must stay in step: a test checks that they hold the
// same migration names.
package migrations

import (
	"embed"
	"io/fs"
)

//go:embed sqlite/*.sql postgres/*.sql
var files embed.FS

// For returns the migrations of one dialect ("sqlite" or "postgres").
func For(dialect string) fs.FS {
	sub, err := fs.Sub(files, dialect)
	if err != nil {
		panic(err) // the folder names are constants embedded above
	}
	return sub
}
