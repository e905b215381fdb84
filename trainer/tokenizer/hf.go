package tokenizer

import (
	"container/heap"
	"strings"
	"sync"
	"sync/atomic"

	"golang.org/x/text/unicode/norm"
)

// HF is a tokenizer defined by a Hugging Face tokenizer.json with a BPE
// model: byte-level BPE (GPT-2, Llama 3, Qwen2 and similar) and BPE without
// merges over a character vocabulary (what NewChar makes). Load it with
// Load or Parse. It is safe for concurrent use.
type HF struct {
	raw []byte // the tokenizer.json it was parsed from, written back by Save

	vocab  map[string]int
	bytes  [][]byte      // per id: what TokenBytes returns (nil for holes)
	added  []*addedToken // per id: the added token, or nil
	byName map[string]int

	rawMatch  *matcher // added tokens with normalized=false, matched on raw text
	normMatch *matcher // added tokens with normalized=true, matched after normalisation
	nfc       bool

	splitters   []splitter // Split pre-tokenizers, in order
	byteRegex   splitter   // ByteLevel use_regex: GPT-2's pattern, or nil
	byteLevel   bool       // pieces are mapped byte by byte before BPE
	prefixSpace bool       // ByteLevel add_prefix_space
	decoder     decoderKind

	byteID       [256]int     // byte-level: id of each byte's rune, -1 if absent
	runeID       map[rune]int // otherwise: id of each single-rune token
	merges       map[uint64]merge
	unk          int // -1 when none: unknown symbols are dropped, as tokenizers does
	fuseUnk      bool
	ignoreMerges bool

	eos int

	cache     sync.Map // piece -> []int; read-mostly, so lock-free reads
	cacheSize atomic.Int64
	scratch   sync.Pool // of *scratch
}

// scratch holds the buffers of one Encode call, reused across calls.
type scratch struct {
	segs, sub    []segment
	pieces, next [][2]int
	sub2         [][2]int // pieces of ByteLevel's own regex
}

type decoderKind int

const (
	decodeJoinSpace decoderKind = iota // no decoder: tokenizers joins tokens with " "
	decodeByteLevel
	decodeFuse
)

type merge struct{ rank, id int32 }

func pairKey(a, b int) uint64 { return uint64(uint32(a))<<32 | uint64(uint32(b)) }

// cacheCap bounds the word cache; once full, new words are not cached
// (the same policy as tokenizers' BPE cache).
const (
	cacheCap     = 1 << 16
	cacheMaxWord = 64 // bytes; longer pieces are rare and not worth caching
)

// Encode returns the ids of text: added and special tokens written in the
// text are matched first, the rest is normalised, split and merged. No
// BOS/EOS is added (the post_processor is not applied).
func (t *HF) Encode(text string) []int {
	ids := make([]int, 0, len(text)/3+1)
	sc, _ := t.scratch.Get().(*scratch)
	if sc == nil {
		sc = &scratch{}
	}
	defer func() {
		// Drop references to the caller's text before pooling the buffers.
		clear(sc.segs)
		clear(sc.sub)
		t.scratch.Put(sc)
	}()
	sc.segs = t.rawMatch.split(sc.segs[:0], text)
	for _, seg := range sc.segs {
		if seg.tok != nil {
			ids = append(ids, seg.tok.ID)
			continue
		}
		s := seg.text
		if t.nfc {
			s = norm.NFC.String(s)
		}
		sc.sub = t.normMatch.split(sc.sub[:0], s)
		for _, ss := range sc.sub {
			if ss.tok != nil {
				ids = append(ids, ss.tok.ID)
				continue
			}
			ids = t.encodeText(ids, sc, ss.text)
		}
	}
	return ids
}

// encodeText pre-tokenizes s and runs BPE on each piece.
func (t *HF) encodeText(ids []int, sc *scratch, s string) []int {
	pieces := append(sc.pieces[:0], [2]int{0, len(s)})
	next := sc.next
	for _, sp := range t.splitters {
		next = next[:0]
		for _, p := range pieces {
			start := len(next)
			var err error
			next, err = sp.split(next, s[p[0]:p[1]])
			if err != nil {
				// Only a regexp2 timeout can fail, and no timeout is set:
				// keep the piece whole rather than lose text.
				next = append(next[:start], p)
				continue
			}
			for i := start; i < len(next); i++ {
				next[i][0] += p[0]
				next[i][1] += p[0]
			}
		}
		pieces, next = next, pieces
	}
	for _, p := range pieces {
		piece := s[p[0]:p[1]]
		// ByteLevel: the prefix space goes before each piece made so far,
		// then its own regex (use_regex) splits further, as tokenizers does.
		if t.prefixSpace && !strings.HasPrefix(piece, " ") {
			piece = " " + piece
		}
		if t.byteRegex == nil {
			ids = t.bpe(ids, piece)
			continue
		}
		var err error
		sc.sub2, err = t.byteRegex.split(sc.sub2[:0], piece)
		if err != nil {
			ids = t.bpe(ids, piece)
			continue
		}
		for _, q := range sc.sub2 {
			ids = t.bpe(ids, piece[q[0]:q[1]])
		}
	}
	sc.pieces, sc.next = pieces, next
	return ids
}

// bpe appends the ids of one pre-tokenized piece.
func (t *HF) bpe(ids []int, piece string) []int {
	if piece == "" {
		return ids
	}
	cacheable := len(piece) <= cacheMaxWord
	if cacheable {
		if got, ok := t.cache.Load(piece); ok {
			return append(ids, got.([]int)...)
		}
	}
	if t.ignoreMerges {
		word := piece
		if t.byteLevel {
			word = byteLevelString(piece)
		}
		if id, ok := t.vocab[word]; ok {
			return append(ids, id)
		}
	}
	syms := t.symbols(piece)
	if len(syms) > 1 && len(t.merges) > 0 {
		syms = t.mergeAll(syms)
	}
	start := len(ids)
	for _, s := range syms {
		if s.len > 0 {
			ids = append(ids, s.id)
		}
	}
	if cacheable {
		word := append([]int(nil), ids[start:]...)
		if t.cacheSize.Load() < cacheCap {
			if _, loaded := t.cache.LoadOrStore(piece, word); !loaded {
				t.cacheSize.Add(1)
			}
		}
	}
	return ids
}

func byteLevelString(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		b.WriteRune(byteToRune[s[i]])
	}
	return b.String()
}

// symbol is a node of the doubly linked list of a word being merged.
type symbol struct {
	id         int
	prev, next int // indices, -1 at the ends
	len        int // 0 once merged into its left neighbour
}

// symbols returns the initial symbols of a piece: one per byte (byte-level)
// or per rune. Symbols outside the vocabulary become unk, or are dropped
// when there is no unk token.
func (t *HF) symbols(piece string) []symbol {
	syms := make([]symbol, 0, len(piece))
	add := func(id int) {
		if id < 0 {
			if t.unk < 0 {
				return
			}
			if t.fuseUnk && len(syms) > 0 && syms[len(syms)-1].id == t.unk {
				return
			}
			id = t.unk
		}
		syms = append(syms, symbol{id: id, len: 1})
	}
	if t.byteLevel {
		for i := 0; i < len(piece); i++ {
			add(t.byteID[piece[i]])
		}
	} else {
		for _, r := range piece {
			id, ok := t.runeID[r]
			if !ok {
				id = -1
			}
			add(id)
		}
	}
	for i := range syms {
		syms[i].prev, syms[i].next = i-1, i+1
	}
	if len(syms) > 0 {
		syms[len(syms)-1].next = -1
	}
	return syms
}

// mergeItem is a candidate merge of the pair starting at symbol pos.
type mergeItem struct {
	rank, pos int
	id        int // the merged id, to detect stale items
}

type mergeQueue []mergeItem

func (q mergeQueue) Len() int { return len(q) }
func (q mergeQueue) Less(i, j int) bool {
	if q[i].rank != q[j].rank {
		return q[i].rank < q[j].rank
	}
	return q[i].pos < q[j].pos
}
func (q mergeQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *mergeQueue) Push(x any)   { *q = append(*q, x.(mergeItem)) }
func (q *mergeQueue) Pop() any {
	old := *q
	x := old[len(old)-1]
	*q = old[:len(old)-1]
	return x
}

// mergeAll applies merges by rank, lowest first and leftmost among equal
// ranks, in O(n log n), as tokenizers' Word::merge_all does.
func (t *HF) mergeAll(syms []symbol) []symbol {
	q := make(mergeQueue, 0, len(syms))
	for i := 0; i+1 < len(syms); i++ {
		if m, ok := t.merges[pairKey(syms[i].id, syms[i+1].id)]; ok {
			q = append(q, mergeItem{int(m.rank), i, int(m.id)})
		}
	}
	heap.Init(&q)
	for q.Len() > 0 {
		it := heap.Pop(&q).(mergeItem)
		cur := &syms[it.pos]
		if cur.len == 0 || cur.next < 0 {
			continue
		}
		nx := cur.next
		m, ok := t.merges[pairKey(cur.id, syms[nx].id)]
		if !ok || int(m.id) != it.id {
			continue // stale: one side has changed since this item was queued
		}
		cur.id = it.id
		cur.len += syms[nx].len
		syms[nx].len = 0
		cur.next = syms[nx].next
		if cur.next >= 0 {
			syms[cur.next].prev = it.pos
		}
		if p := cur.prev; p >= 0 {
			if m, ok := t.merges[pairKey(syms[p].id, cur.id)]; ok {
				heap.Push(&q, mergeItem{int(m.rank), p, int(m.id)})
			}
		}
		if n := cur.next; n >= 0 {
			if m, ok := t.merges[pairKey(cur.id, syms[n].id)]; ok {
				heap.Push(&q, mergeItem{int(m.rank), it.pos, int(m.id)})
			}
		}
	}
	return syms
}

// Decode returns the text of ids. Added and special tokens are written as
// their content; runs of byte-level tokens are assembled into bytes and
// then into UTF-8, each ill-formed part becoming U+FFFD as in tokenizers.
// Unknown ids are skipped.
func (t *HF) Decode(ids []int) string {
	var out, pending []byte
	emitted := 0
	for _, id := range ids {
		if id < 0 || id >= len(t.bytes) || t.bytes[id] == nil {
			continue
		}
		if t.decoder == decodeJoinSpace && emitted > 0 {
			pending = append(pending, ' ')
		}
		emitted++
		if a := t.added[id]; a != nil {
			out = appendLossy(out, pending)
			pending = pending[:0]
			out = append(out, a.Content...)
			continue
		}
		pending = append(pending, t.bytes[id]...)
	}
	return string(appendLossy(out, pending))
}

// TokenBytes returns the raw bytes of a token: for a byte-level token the
// bytes before UTF-8 assembly, for an added token its content. It returns
// nil for an unknown id. The caller must not modify the result.
func (t *HF) TokenBytes(id int) []byte {
	if id < 0 || id >= len(t.bytes) {
		return nil
	}
	return t.bytes[id]
}

// VocabSize is one more than the largest id of the vocabulary and of the
// added tokens.
func (t *HF) VocabSize() int { return len(t.bytes) }

// TokenID returns the id of an added token, or else of a vocabulary entry
// written as in tokenizer.json (byte-level form for byte-level BPE).
func (t *HF) TokenID(token string) (int, bool) {
	if id, ok := t.byName[token]; ok {
		return id, true
	}
	id, ok := t.vocab[token]
	return id, ok
}

// EOS is the end-of-sequence id: the eos_token of tokenizer_config.json
// when Load found one, else "<|endoftext|>" or "</s>" when present, else -1.
func (t *HF) EOS() int { return t.eos }

var _ Tokenizer = (*HF)(nil)
