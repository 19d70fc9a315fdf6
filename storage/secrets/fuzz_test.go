package secrets

import (
	"bytes"
	"context"
	"testing"
)

// FuzzParseBundle feeds arbitrary bytes to the keystore parser: it must
// never panic, and whatever it accepts must marshal and parse again to
// the same bundle.
func FuzzParseBundle(f *testing.F) {
	b, _ := newBundle(f, "default")
	good, err := b.Marshal()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"version":1}`))
	f.Add(bytes.Replace(good, []byte(`"scrypt"`), []byte(`"pbkdf2"`), 1))
	f.Add(good[:len(good)/2])
	if wb, _, err := WrapBundle(context.Background(), b, bigBlobWrapper{arn: "arn:aws:kms:eu-west-2:111122223333:key/k"}); err == nil {
		wrapped, _ := wb.Marshal()
		f.Add(wrapped)
		f.Add(bytes.Replace(wrapped, []byte(`"kind":"kms"`), []byte(`"kind":"pkcs11"`), 1))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := ParseBundle(data)
		if err != nil {
			return
		}
		out, err := b.Marshal()
		if err != nil {
			t.Fatalf("accepted bundle does not marshal: %v", err)
		}
		again, err := ParseBundle(out)
		if err != nil {
			t.Fatalf("re-marshalled bundle rejected: %v", err)
		}
		out2, _ := again.Marshal()
		if !bytes.Equal(out, out2) {
			t.Fatal("bundle does not round-trip")
		}
	})
}
