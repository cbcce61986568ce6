// Package doctest reads the commands README.md and docs/ quote, so that tests
// can run them as written: fenced code blocks with their file and line, and a
// block's `<!-- needs: ... -->` marker, which says what outside the
// repository it needs (a cluster, Prometheus, a registry). It runs nothing.
package doctest

import (
	"bufio"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// Block is one fenced code block of a Markdown file.
type Block struct {
	File  string   // relative to the repository root
	Line  int      // line of the block's first content line, 1-based
	Lang  string   // the fence's info string: sh, console, yaml, promql, ...
	Needs string   // the marker's text, empty when the block runs on the repository alone
	Lines []string // content, without the fences and the block's indentation
}

// Where is "file:line" of the block's content line i.
func (b Block) Where(i int) string { return b.File + ":" + itoa(b.Line+i) }

func itoa(n int) string { return strconv.Itoa(n) }

var (
	fenceRE  = regexp.MustCompile("^(\\s*)(```+|~~~+)\\s*([A-Za-z0-9_+-]*)")
	needsRE  = regexp.MustCompile(`^\s*<!--\s*needs:\s*(.*?)\s*-->\s*$`)
	scaledRE = regexp.MustCompile(`(^|[\s;&|(])((?:bin/|\./|/tmp/)?scaled)\s+(run|check|simulate|calibrate|forecast|tune|version)(?:[\s;&|)]|$)`)
)

// Files are README.md and every Markdown file under docs/, relative to root,
// sorted.
func Files(root string) ([]string, error) {
	files := []string{"README.md"}
	err := filepath.WalkDir(filepath.Join(root, "docs"), func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.HasSuffix(p, ".md") {
			rel, err := filepath.Rel(root, p)
			if err != nil {
				return err
			}
			files = append(files, filepath.ToSlash(rel))
		}
		return nil
	})
	sort.Strings(files[1:])
	return files, err
}

// All reads the fenced code blocks of README.md and every file under docs/
// (Files).
func All(root string) ([]Block, error) {
	files, err := Files(root)
	if err != nil {
		return nil, err
	}
	return Blocks(root, files...)
}

// Blocks reads the fenced code blocks of the files (relative to root).
func Blocks(root string, files ...string) ([]Block, error) {
	var out []Block
	for _, f := range files {
		fh, err := os.Open(filepath.Join(root, f))
		if err != nil {
			return nil, err
		}
		sc := bufio.NewScanner(fh)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		var cur *Block
		var fence, indent, prev string
		n := 0
		for sc.Scan() {
			n++
			line := sc.Text()
			if cur == nil {
				if m := fenceRE.FindStringSubmatch(line); m != nil {
					cur = &Block{File: f, Line: n + 1, Lang: m[3]}
					indent, fence = m[1], m[2]
					if nm := needsRE.FindStringSubmatch(prev); nm != nil {
						cur.Needs = nm[1]
					}
				}
				prev = line
				continue
			}
			if t := strings.TrimSpace(line); strings.HasPrefix(t, fence) && strings.Trim(t, fence[:1]) == "" {
				out = append(out, *cur)
				cur, prev = nil, line
				continue
			}
			cur.Lines = append(cur.Lines, strings.TrimPrefix(line, indent))
		}
		fh.Close()
		if err := sc.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// RunsScaled reports whether a line invokes the scaled binary (scaled,
// bin/scaled, ./scaled or /tmp/scaled followed by a subcommand).
func RunsScaled(line string) bool {
	line = strings.TrimPrefix(strings.TrimSpace(line), "$ ")
	if strings.HasPrefix(line, "#") {
		return false
	}
	return scaledRE.MatchString(line)
}

// Command is one `$ `-prompted command of a console block, with the output
// the doc shows after it.
type Command struct {
	Block
	Index  int // line of the command within the block
	Text   string
	Output []string
}

// Where is the command's "file:line".
func (c Command) Where() string { return c.Block.Where(c.Index) }

// Commands splits a console block into its prompted commands.
func Commands(b Block) []Command {
	var out []Command
	for i, l := range b.Lines {
		if strings.HasPrefix(l, "$ ") {
			out = append(out, Command{Block: b, Index: i, Text: strings.TrimPrefix(l, "$ ")})
			continue
		}
		if len(out) > 0 {
			out[len(out)-1].Output = append(out[len(out)-1].Output, l)
		}
	}
	return out
}
