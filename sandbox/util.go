package sandbox

import (
	"math/rand/v2"
	"strings"
)

func zeros(n int) string { return strings.Repeat("0", n) }

func hexID(r *rand.Rand, n int) string {
	const hx = "0123456789abcdef"
	b := make([]byte, n)
	for i := range b {
		b[i] = hx[r.IntN(16)]
	}
	return string(b)
}

// segwitAddress is a valid P2WPKH bech32 address (BIP 173) with a random
// 20-byte program, for generated load: hrp "bc" or "tb".
func segwitAddress(r *rand.Rand, hrp string) string {
	const charset = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
	data := []byte{0} // witness version 0
	var acc, bits uint
	for range 20 { // the program, regrouped from 8-bit to 5-bit values
		acc = acc<<8 | uint(r.IntN(256))
		for bits += 8; bits >= 5; bits -= 5 {
			data = append(data, byte(acc>>(bits-5)&31))
		}
	}
	if bits > 0 {
		data = append(data, byte(acc<<(5-bits)&31))
	}
	values := make([]byte, 0, 2*len(hrp)+1+len(data)+6)
	for i := range len(hrp) {
		values = append(values, hrp[i]>>5)
	}
	values = append(values, 0)
	for i := range len(hrp) {
		values = append(values, hrp[i]&31)
	}
	values = append(values, data...)
	values = append(values, 0, 0, 0, 0, 0, 0)
	mod := bech32Polymod(values) ^ 1
	out := []byte(hrp + "1")
	for _, d := range data {
		out = append(out, charset[d])
	}
	for i := range 6 {
		out = append(out, charset[mod>>(5*(5-i))&31])
	}
	return string(out)
}

// bech32Polymod is the BCH checksum of BIP 173.
func bech32Polymod(values []byte) uint32 {
	gen := [5]uint32{0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3}
	chk := uint32(1)
	for _, v := range values {
		top := chk >> 25
		chk = (chk&0x1ffffff)<<5 ^ uint32(v)
		for i := range 5 {
			if top>>i&1 == 1 {
				chk ^= gen[i]
			}
		}
	}
	return chk
}
