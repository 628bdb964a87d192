"""ServiceAccount tokens: signed JWTs, TokenRequest, their authenticator and admission.

- `jwt`: RS256 signing and verification of compact JWTs (no JWT library: the
  `cryptography` package signs, this package encodes);
- `keys`: the signing key (`--service-account-signing-key-file`, or one made in
  `--cert-dir` on first start) and the verification keys;
- `claims`: the claims kube-apiserver puts in a token and checks on the way back;
- `tokenrequest`: `POST .../serviceaccounts/NAME/token`;
- `authenticator`: a bearer JWT becomes `system:serviceaccount:NS:NAME`;
- `admission`: the `ServiceAccount` admission plugin (default account, token volume).

Kubernetes counterpart: pkg/serviceaccount, plugin/pkg/admission/serviceaccount
"""
