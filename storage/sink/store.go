package sink

import (
	"context"
	"fmt"
	"math"

	"github.com/jackc/pgx/v5"
)

// Store reads the team store for audits.
type Store struct {
	conn     *pgx.Conn
	password string
}

// OpenStore connects to the team store named by dsn (password, when set,
// overrides the DSN's) and checks its schema version.
func OpenStore(ctx context.Context, dsn, password string) (*Store, error) {
	pc, err := ParseDSN(dsn, password)
	if err != nil {
		return nil, err
	}
	c, err := pgx.ConnectConfig(ctx, pc)
	if err != nil {
		return nil, fmt.Errorf("postgres %s: %w", pc.Host, redact(err, pc.Password))
	}
	s := &Store{conn: c, password: pc.Password}
	v, err := schemaVersion(ctx, c)
	if err != nil {
		_ = c.Close(ctx)
		return nil, err
	}
	if v == 0 || v > SchemaVersion() {
		_ = c.Close(ctx)
		if v == 0 {
			return nil, fmt.Errorf("postgres %s holds no qapprove team store (no schema_version)", pc.Host)
		}
		return nil, fmt.Errorf("the team store has schema version %d, newer than this qapprove knows (%d): upgrade qapprove", v, SchemaVersion())
	}
	return s, nil
}

// Close closes the connection.
func (s *Store) Close() error { return s.conn.Close(context.Background()) }

// StoredHead is one journal as the store holds it.
type StoredHead struct {
	JournalID string
	Entries   uint64 // rows
	LastSeq   uint64
	Head      string // hash at LastSeq
}

// Journals lists the journals in the store.
func (s *Store) Journals(ctx context.Context) ([]StoredHead, error) {
	rows, err := s.conn.Query(ctx, `SELECT e.journal_id, n.count, e.seq, e.hash
		FROM (SELECT journal_id, count(*) AS count, max(seq) AS last FROM journal_entries GROUP BY journal_id) n
		JOIN journal_entries e ON e.journal_id = n.journal_id AND e.seq = n.last
		ORDER BY e.journal_id`)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", redact(err, s.password))
	}
	var out []StoredHead
	for rows.Next() {
		var h StoredHead
		var n, last int64
		if err := rows.Scan(&h.JournalID, &n, &last, &h.Head); err != nil {
			return nil, fmt.Errorf("postgres: %w", redact(err, s.password))
		}
		h.Entries, h.LastSeq = uint64(n), uint64(last) //nolint:gosec // G115: a count and a seq the schema keeps >= 0
		out = append(out, h)
	}
	return out, redact(rows.Err(), s.password)
}

// Head returns the stored journal jid (zero Entries when the store has
// none of it).
func (s *Store) Head(ctx context.Context, jid string) (StoredHead, error) {
	hs, err := s.Journals(ctx)
	if err != nil {
		return StoredHead{}, err
	}
	for _, h := range hs {
		if h.JournalID == jid {
			return h, nil
		}
	}
	return StoredHead{JournalID: jid}, nil
}

// Lines calls fn for every stored line of journal jid from seq from on,
// in seq order.
func (s *Store) Lines(ctx context.Context, jid string, from uint64, fn func(seq uint64, hash string, line []byte) error) error {
	if from > math.MaxInt64 {
		return nil
	}
	rows, err := s.conn.Query(ctx, `SELECT seq, hash, line FROM journal_entries WHERE journal_id = $1 AND seq >= $2 ORDER BY seq`, jid, int64(from)) //nolint:gosec // G115: checked above
	if err != nil {
		return fmt.Errorf("postgres: %w", redact(err, s.password))
	}
	defer rows.Close()
	for rows.Next() {
		var seq int64
		var hash string
		var line []byte
		if err := rows.Scan(&seq, &hash, &line); err != nil {
			return fmt.Errorf("postgres: %w", redact(err, s.password))
		}
		if err := fn(uint64(seq), hash, line); err != nil { //nolint:gosec // G115: the schema keeps seq >= 0
			return err
		}
	}
	return redact(rows.Err(), s.password)
}

// Genesis returns the stored genesis line of every journal, by journal ID.
func (s *Store) Genesis(ctx context.Context) (map[string][]byte, error) {
	rows, err := s.conn.Query(ctx, `SELECT journal_id, line FROM journal_entries WHERE seq = 0`)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", redact(err, s.password))
	}
	defer rows.Close()
	out := map[string][]byte{}
	for rows.Next() {
		var jid string
		var line []byte
		if err := rows.Scan(&jid, &line); err != nil {
			return nil, fmt.Errorf("postgres: %w", redact(err, s.password))
		}
		out[jid] = line
	}
	return out, redact(rows.Err(), s.password)
}
