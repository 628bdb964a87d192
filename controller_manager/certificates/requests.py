"""What a kubelet's certificate request must look like, read from its PKCS#10 request.

Both the approver and the signer ask these questions before acting:

- a **kubelet client** request (`kubernetes.io/kube-apiserver-client-kubelet`) names
  exactly `O=system:nodes`, a `CN=system:node:<name>`, no SANs at all, and the
  usages `client auth` and `digital signature` (`key encipherment` allowed);
- a **kubelet serving** request (`kubernetes.io/kubelet-serving`) names the same
  subject, at least one DNS or IP SAN and no e-mail or URI SANs, and the usages
  `server auth` and `digital signature` (`key encipherment` allowed).

Each check returns why the request is not of that shape, or None.

Kubernetes counterpart: pkg/apis/certificates/helpers.go (ValidateKubeletClientCSR,
ValidateKubeletServingCSR)
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cryptography import x509

from tinykube import pki

NODE_USER_PREFIX = "system:node:"
NODES_GROUP = "system:nodes"
CLIENT_USAGES = ({"digital signature", "client auth"}, {"key encipherment", "digital signature", "client auth"})
SERVING_USAGES = ({"digital signature", "server auth"}, {"key encipherment", "digital signature", "server auth"})


@dataclass(frozen=True)
class ParsedRequest:
    """The parts of a PKCS#10 request the checks look at."""

    common_name: str
    organizations: list[str]
    dns_names: list[str] = field(default_factory=list)
    ip_addresses: list[str] = field(default_factory=list)
    other_sans: int = 0  # e-mail addresses and URIs

    @classmethod
    def from_pem(cls, pem: bytes) -> ParsedRequest:
        request = x509.load_pem_x509_csr(pem)
        name, organizations = pki.user_of(request)
        try:
            sans = request.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        except x509.ExtensionNotFound:
            return cls(name, organizations)
        return cls(name, organizations, [str(v) for v in sans.get_values_for_type(x509.DNSName)],
                   [str(v) for v in sans.get_values_for_type(x509.IPAddress)],
                   len(sans.get_values_for_type(x509.RFC822Name))
                   + len(sans.get_values_for_type(x509.UniformResourceIdentifier)))

    @property
    def node_name(self) -> str:
        return self.common_name.removeprefix(NODE_USER_PREFIX)


def _subject_problem(request: ParsedRequest) -> str | None:
    if request.organizations != [NODES_GROUP]:
        return f'subject organization is not {NODES_GROUP}'
    if not request.common_name.startswith(NODE_USER_PREFIX) or not request.node_name:
        return f'subject common name does not begin with "{NODE_USER_PREFIX}"'
    return None


def kubelet_client_problem(request: ParsedRequest, usages: list[str]) -> str | None:
    problem = _subject_problem(request)
    if problem:
        return problem
    if request.dns_names or request.ip_addresses or request.other_sans:
        return "a kubelet client certificate may not have subject alternative names"
    if set(usages) not in CLIENT_USAGES or len(set(usages)) != len(usages):
        return "usages must be \"client auth\" and \"digital signature\" (and optionally \"key encipherment\")"
    return None


def kubelet_serving_problem(request: ParsedRequest, usages: list[str]) -> str | None:
    problem = _subject_problem(request)
    if problem:
        return problem
    if request.other_sans:
        return "e-mail and URI subject alternative names are not allowed"
    if not request.dns_names and not request.ip_addresses:
        return "at least one DNS or IP subject alternative name is required"
    if set(usages) not in SERVING_USAGES or len(set(usages)) != len(usages):
        return "usages must be \"server auth\" and \"digital signature\" (and optionally \"key encipherment\")"
    return None
