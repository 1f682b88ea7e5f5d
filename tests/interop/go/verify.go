// verify.go checks a running cordon-auditd with verifiers we did not write: Go's
// golang.org/x/mod/sumdb/note (signed notes) and golang.org/x/mod/sumdb/tlog (RFC 6962 trees,
// proofs and tiles). It talks HTTP over auditd's Unix socket and trusts nothing it is served
// beyond the verifier key given on the command line.
//
// usage: go run verify.go -socket PATH -key VERIFIERKEY
// Exit status 0 and a final "OK ..." line when every check passes; 1 with the reason otherwise.
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

var client *http.Client

func get(path string) ([]byte, int) {
	resp, err := client.Get("http://auditd" + path)
	if err != nil {
		die("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		die("GET %s: %v", path, err)
	}
	return body, resp.StatusCode
}

func mustGet(path string) []byte {
	body, status := get(path)
	if status != 200 {
		die("GET %s: status %d: %s", path, status, body)
	}
	return body
}

func die(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "FAIL: "+format+"\n", args...)
	os.Exit(1)
}

func proof(path string) []tlog.Hash {
	var answer struct {
		Hashes []string `json:"hashes"`
	}
	if err := json.Unmarshal(mustGet(path), &answer); err != nil {
		die("%s: %v", path, err)
	}
	hashes := make([]tlog.Hash, len(answer.Hashes))
	for i, h := range answer.Hashes {
		raw, err := base64.StdEncoding.DecodeString(h)
		if err != nil || len(raw) != 32 {
			die("%s: bad hash %q", path, h)
		}
		copy(hashes[i][:], raw)
	}
	return hashes
}

// tileReader serves Go's tlog tiles from auditd's C2SP tlog-tiles paths (height 8; C2SP drops
// the height element Go puts in its paths).
type tileReader struct{}

func (tileReader) Height() int { return 8 }
func (tileReader) SaveTiles([]tlog.Tile, [][]byte) {}
func (tileReader) ReadTiles(tiles []tlog.Tile) ([][]byte, error) {
	data := make([][]byte, len(tiles))
	for i, t := range tiles {
		path := "/tile/" + strings.TrimPrefix(t.Path(), "tile/8/")
		data[i] = mustGet(path)
	}
	return data, nil
}

func main() {
	socket := flag.String("socket", "", "auditd's Unix socket")
	key := flag.String("key", "", "pinned verifier key name+hex8+base64")
	flag.Parse()
	client = &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", *socket)
		}}}

	verifier, err := note.NewVerifier(*key)
	if err != nil {
		die("verifier key: %v", err)
	}
	signed := mustGet("/v1/checkpoint")
	n, err := note.Open(signed, note.VerifierList(verifier))
	if err != nil {
		die("checkpoint signature: %v", err)
	}
	// The same note must not open under another key of the same name.
	_, otherKey, err := note.GenerateKey(rand.Reader, verifier.Name())
	if err != nil {
		die("generate key: %v", err)
	}
	other, err := note.NewVerifier(otherKey)
	if err != nil {
		die("other verifier: %v", err)
	}
	if _, err := note.Open(signed, note.VerifierList(other)); err == nil {
		die("the checkpoint opened under a key that did not sign it")
	}
	// Nor with one byte of its body changed.
	forged := bytes.Replace(signed, []byte("\n"), []byte("x\n"), 1)
	if _, err := note.Open(forged, note.VerifierList(verifier)); err == nil {
		die("a checkpoint with a changed origin still verified")
	}
	lines := strings.Split(n.Text, "\n")
	if len(lines) < 4 || lines[len(lines)-1] != "" {
		die("checkpoint body is not origin/size/root: %q", n.Text)
	}
	if lines[0] != verifier.Name() {
		die("checkpoint origin %q differs from key name %q", lines[0], verifier.Name())
	}
	size, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil || size < 0 {
		die("checkpoint size %q", lines[1])
	}
	rootBytes, err := base64.StdEncoding.DecodeString(lines[2])
	if err != nil || len(rootBytes) != 32 {
		die("checkpoint root %q", lines[2])
	}
	var root tlog.Hash
	copy(root[:], rootBytes)

	if size == 0 {
		// RFC 6962: the empty tree's hash is SHA-256(""); Go's tlog.TreeHash(0) is the zero hash.
		if root != tlog.Hash(sha256.Sum256(nil)) {
			die("empty tree root is not SHA-256(\"\")")
		}
		fmt.Println("OK size=0 root=SHA-256(\"\")")
		return
	}

	// Recompute every stored hash from the served leaves, independently of auditd's tree.
	leaves := bytes.Split(mustGet(fmt.Sprintf("/v1/events?from=0&to=%d", size)), []byte("\n"))
	if len(leaves) > 0 && len(leaves[len(leaves)-1]) == 0 {
		leaves = leaves[:len(leaves)-1]
	}
	if int64(len(leaves)) != size {
		die("events: got %d leaves, checkpoint says %d", len(leaves), size)
	}
	var stored []tlog.Hash
	reader := tlog.HashReaderFunc(func(indexes []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(indexes))
		for i, x := range indexes {
			out[i] = stored[x]
		}
		return out, nil
	})
	for i, leaf := range leaves {
		hashes, err := tlog.StoredHashes(int64(i), leaf, reader)
		if err != nil {
			die("stored hashes at %d: %v", i, err)
		}
		stored = append(stored, hashes...)
	}
	local, err := tlog.TreeHash(size, reader)
	if err != nil || local != root {
		die("root recomputed from the leaves differs from the signed checkpoint")
	}

	// Inclusion of every leaf (or a spread of them), and consistency from every older size.
	step := size/64 + 1
	inclusions, consistencies := 0, 0
	for i := int64(0); i < size; i += step {
		p := proof(fmt.Sprintf("/v1/proof/inclusion?index=%d&size=%d", i, size))
		if err := tlog.CheckRecord(p, size, root, i, tlog.RecordHash(leaves[i])); err != nil {
			die("inclusion proof for %d in %d: %v", i, size, err)
		}
		inclusions++
	}
	for m := int64(1); m <= size; m += step {
		old, err := tlog.TreeHash(m, reader)
		if err != nil {
			die("tree hash %d: %v", m, err)
		}
		p := proof(fmt.Sprintf("/v1/proof/consistency?old=%d&new=%d", m, size))
		if err := tlog.CheckTree(p, size, root, m, old); err != nil {
			die("consistency proof %d -> %d: %v", m, size, err)
		}
		consistencies++
	}
	if _, status := get(fmt.Sprintf("/v1/proof/inclusion?index=%d&size=%d", size, size)); status/100 != 4 {
		die("inclusion proof beyond the tree answered %d, want 4xx", status)
	}

	// Tiles: Go authenticates every tile against the signed root while reading hashes through it.
	thr := tlog.TileHashReader(tlog.Tree{N: size, Hash: root}, tileReader{})
	viaTiles, err := tlog.TreeHash(size, thr)
	if err != nil || viaTiles != root {
		die("tree hash through tiles: %v", err)
	}
	for i := int64(0); i < size; i += step {
		h, err := thr.ReadHashes([]int64{tlog.StoredHashIndex(0, i)})
		if err != nil || h[0] != tlog.RecordHash(leaves[i]) {
			die("record hash %d through tiles: %v", i, err)
		}
	}
	// Entry bundles: big-endian uint16 length, then the leaf, for 256 entries a bundle.
	for start := int64(0); start < size; start += 256 {
		width := size - start
		if width > 256 {
			width = 256
		}
		t := tlog.Tile{H: 8, L: 0, N: start / 256, W: int(width)}
		path := "/tile/entries/" + strings.TrimPrefix(t.Path(), "tile/8/0/")
		bundle := mustGet(path)
		for i := start; i < start+width; i++ {
			if len(bundle) < 2 {
				die("entry bundle %s ends early", path)
			}
			l := int(binary.BigEndian.Uint16(bundle))
			if len(bundle) < 2+l || !bytes.Equal(bundle[2:2+l], leaves[i]) {
				die("entry bundle %s: entry %d differs from /v1/events", path, i)
			}
			bundle = bundle[2+l:]
		}
		if len(bundle) != 0 {
			die("entry bundle %s has trailing bytes", path)
		}
	}
	fmt.Printf("OK size=%d inclusion=%d consistency=%d tiles=ok entries=ok\n", size, inclusions, consistencies)
}
