package governance

import (
	"crypto/sha256"
	"strings"

	"golang.org/x/crypto/sha3"
)

// Network families whose addresses CheckAddress judges (tx.network.family).
const (
	FamilyEVM     = "evm"
	FamilyBitcoin = "bitcoin"
)

// CheckAddress says whether addr is well-formed for a network family.
// judged is false for a family it does not know (problem is then "");
// otherwise problem is "" for a well-formed address and says why not for a
// malformed one:
//   - EVM: 0x and 40 hex digits; mixed case must carry the EIP-55 checksum.
//   - Bitcoin: Base58Check (P2PKH/P2SH, 26–35 characters, double SHA-256
//     checksum) or bech32/bech32m segwit (bc1, tb1, bcrt1; one case).
func CheckAddress(family, addr string) (problem string, judged bool) {
	switch strings.ToLower(family) {
	case FamilyEVM:
		return checkEVM(addr), true
	case FamilyBitcoin:
		return checkBitcoin(addr), true
	}
	return "", false
}

// checkEVM judges an EVM address (EIP-55).
func checkEVM(addr string) string {
	if len(addr) != 42 || addr[0] != '0' || addr[1] != 'x' {
		return "not 0x followed by 40 hex digits"
	}
	hexPart := addr[2:]
	lower, upper := false, false
	for i := 0; i < len(hexPart); i++ {
		switch c := hexPart[i]; {
		case c >= '0' && c <= '9':
		case c >= 'a' && c <= 'f':
			lower = true
		case c >= 'A' && c <= 'F':
			upper = true
		default:
			return "not 0x followed by 40 hex digits"
		}
	}
	if !lower || !upper {
		return "" // one case: no checksum to check
	}
	var buf [40]byte
	for i := range buf {
		buf[i] = hexPart[i] | 0x20 // lower case (digits are unchanged)
	}
	h := sha3.NewLegacyKeccak256()
	h.Write(buf[:])
	var sum [32]byte
	h.Sum(sum[:0])
	for i := 0; i < 40; i++ {
		c := hexPart[i]
		if c <= '9' {
			continue
		}
		nibble := sum[i/2] >> 4
		if i%2 == 1 {
			nibble = sum[i/2] & 0x0f
		}
		if (nibble >= 8) != (c <= 'F') {
			return "mixed case that is not a valid EIP-55 checksum (a character may have been changed)"
		}
	}
	return ""
}

// checkBitcoin judges a Bitcoin address: bech32/bech32m when it has a
// segwit prefix, Base58Check otherwise.
func checkBitcoin(addr string) string {
	l := strings.ToLower(addr)
	for _, hrp := range []string{"bc1", "tb1", "bcrt1"} {
		if strings.HasPrefix(l, hrp) {
			return checkBech32(addr, hrp[:len(hrp)-1])
		}
	}
	return checkBase58(addr)
}

const base58Alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"

// Base58Check version bytes of P2PKH and P2SH addresses (main and test networks).
var base58Versions = [...]byte{0x00, 0x05, 0x6f, 0xc4}

// checkBase58 judges a legacy P2PKH/P2SH address.
func checkBase58(addr string) string {
	if len(addr) < 26 || len(addr) > 35 {
		return "not a Bitcoin address: a legacy address has 26 to 35 characters and a segwit one starts with bc1, tb1 or bcrt1"
	}
	// Decode into a big-endian number of at most 35*log2(58)/8 < 26 bytes.
	var num [26]byte
	for i := 0; i < len(addr); i++ {
		d := strings.IndexByte(base58Alphabet, addr[i])
		if d < 0 {
			return "a character that is not in the Base58 alphabet"
		}
		carry := d
		for j := len(num) - 1; j >= 0; j-- {
			carry += int(num[j]) * 58
			num[j] = byte(carry) //nolint:gosec // G115: low byte on purpose; carry >>= 8 keeps the rest
			carry >>= 8
		}
		if carry != 0 {
			return "Base58 value too large for an address"
		}
	}
	zeros := len(addr) - len(strings.TrimLeft(addr, "1"))
	sig := len(num)
	for i, b := range num {
		if b != 0 {
			sig = i
			break
		}
	}
	if zeros+len(num)-sig != 25 {
		return "not 25 bytes once Base58-decoded (version, 20-byte hash, checksum)"
	}
	raw := num[len(num)-25:] // leading zero bytes stand for the leading 1s
	first := sha256.Sum256(raw[:21])
	second := sha256.Sum256(first[:])
	if [4]byte(raw[21:]) != [4]byte(second[:4]) {
		return "the Base58Check checksum does not match (a character may have been changed)"
	}
	for _, v := range base58Versions {
		if raw[0] == v {
			return ""
		}
	}
	return "not a P2PKH or P2SH version byte"
}

const bech32Charset = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"

// Checksum constants of BIP 173 (bech32) and BIP 350 (bech32m).
const (
	bech32Const  = 1
	bech32mConst = 0x2bc830a3
)

// checkBech32 judges a segwit address with human-readable part hrp.
func checkBech32(addr, hrp string) string {
	if len(addr) > 90 {
		return "longer than 90 characters"
	}
	if strings.ToLower(addr) != addr && strings.ToUpper(addr) != addr {
		return "mixes upper and lower case"
	}
	s := strings.ToLower(addr)
	data := s[len(hrp)+1:]
	// Witness version, at least 2 bytes of program (4 characters), checksum.
	if len(data) < 1+4+6 {
		return "too short for a segwit address"
	}
	var vals [90]byte
	for i := 0; i < len(data); i++ {
		d := strings.IndexByte(bech32Charset, data[i])
		if d < 0 {
			return "a character that is not in the bech32 alphabet"
		}
		vals[i] = byte(d) //nolint:gosec // G115: d is an index into the 32-character bech32 alphabet
	}
	c := bech32Polymod(hrp, vals[:len(data)])
	version := vals[0]
	switch {
	case c != bech32Const && c != bech32mConst:
		return "the bech32 checksum does not match (a character may have been changed)"
	case version > 16:
		return "witness version above 16"
	case version == 0 && c != bech32Const:
		return "a version 0 address must use bech32, not bech32m"
	case version != 0 && c != bech32mConst:
		return "a version 1+ address must use bech32m (BIP 350), not bech32"
	}
	n, ok := programLen(vals[1 : len(data)-6])
	switch {
	case !ok:
		return "the witness program has invalid padding"
	case n < 2 || n > 40:
		return "the witness program is not 2 to 40 bytes"
	case version == 0 && n != 20 && n != 32:
		return "a version 0 witness program is 20 or 32 bytes"
	}
	return ""
}

// bech32Polymod is the BIP 173 checksum over hrp and the data values.
func bech32Polymod(hrp string, vals []byte) uint32 {
	gen := [5]uint32{0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3}
	chk := uint32(1)
	step := func(v byte) {
		top := chk >> 25
		chk = (chk&0x1ffffff)<<5 ^ uint32(v)
		for i := range gen {
			if (top>>i)&1 == 1 {
				chk ^= gen[i]
			}
		}
	}
	for i := 0; i < len(hrp); i++ {
		step(hrp[i] >> 5)
	}
	step(0)
	for i := 0; i < len(hrp); i++ {
		step(hrp[i] & 31)
	}
	for _, v := range vals {
		step(v)
	}
	return chk
}

// programLen is the byte length of 5-bit groups converted to 8 bits; ok is
// false when the padding is more than 4 bits or not zero (BIP 173).
func programLen(groups []byte) (int, bool) {
	bits := len(groups) * 5
	pad := bits % 8
	if pad > 4 {
		return 0, false
	}
	if pad > 0 && groups[len(groups)-1]&(1<<pad-1) != 0 {
		return 0, false
	}
	return bits / 8, true
}
