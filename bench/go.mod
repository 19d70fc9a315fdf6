module github.com/qapprove/qapprove/bench

go 1.26.0

replace github.com/qapprove/qapprove => ../

require (
	github.com/qapprove/qapprove v0.0.0-00010101000000-000000000000
	github.com/supranational/blst v0.3.16
)

require github.com/herumi/bls-eth-go-binary v1.37.0 // indirect
