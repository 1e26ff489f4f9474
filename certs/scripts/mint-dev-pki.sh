#!/usr/bin/env bash
# Mints the Liaison development PKI: a network CA, its CRL, and broker,
# endpoint and operator certificates; on request, the certificates of a local
# Apache Kafka cluster and its clients (`kafka`). Development and tests only: the CA key
# sits unencrypted on disk. Uses nothing but bash and the openssl CLI
# (OpenSSL 3.0); `openssl ca` keeps its own index so that CRLs and explicit
# start/end dates work. Not safe to run twice at once on the same DIR.
#
#   mint-dev-pki.sh init DIR
#   mint-dev-pki.sh issue DIR ROLE ID OUT_PREFIX [--alg p256|ed25519]
#                         [--start YYYYMMDDHHMMSSZ --end YYYYMMDDHHMMSSZ]
#                         [--san DNS:x,IP:y]
#   mint-dev-pki.sh revoke DIR CERT_PEM
#   mint-dev-pki.sh foreign-ca DIR
#   mint-dev-pki.sh kafka DIR
#   mint-dev-pki.sh linkage-key DIR [--epoch N]
set -euo pipefail

readonly PROG="mint-dev-pki"
readonly ORG="Liaison Development Network"
readonly CA_CN="Liaison Development Network CA"
readonly ENDPOINTS=(DE-BKA NL-NP RO-IGPR BG-GDNP FR-OCRTEH ES-PN LV-VP SE-NOA GB-NCA MD-IGP)
readonly ROLES=(endpoint-tls endpoint-signing endpoint-encryption broker operator kafka)
# Extended key usage of endpoint-encryption certificates: "Liaison evidence
# key agreement", an OID under the UUID arc 2.25 (ITU-T X.667), which needs no
# registration. certs/certificate.h (kEvidenceKeyAgreementOid) holds the same.
readonly EVIDENCE_KEY_AGREEMENT_OID=2.25.196935241276446434531790657129757818621
# Kafka principals (role `kafka`, OU=kafka): the nodes of a local cluster
# (server and client: they talk to each other), the Kafka admin (super user),
# and the principals deploy/kafka/acls.sh grants rights to.
readonly KAFKA_NODES=(liaison-kafka-1 liaison-kafka-2 liaison-kafka-3)
readonly KAFKA_CLIENTS=(liaison-kafka-admin liaison-front liaison-policy liaison-auditor)
readonly CA_DAYS=3650
readonly LEAF_DAYS=730
readonly CRL_DAYS=30

usage() {
  cat >&2 <<EOF
usage: $0 init DIR
       $0 issue DIR ROLE ID OUT_PREFIX [--alg p256|ed25519]
                [--start YYYYMMDDHHMMSSZ --end YYYYMMDDHHMMSSZ] [--san DNS:x,IP:y]
       $0 revoke DIR CERT_PEM
       $0 foreign-ca DIR
       $0 kafka DIR
       $0 linkage-key DIR [--epoch N]
ROLE is one of: ${ROLES[*]}
EOF
  exit 2
}

die() {
  echo "$PROG: error: $*" >&2
  exit 1
}

say() {
  echo "$PROG: $*"
}

command -v openssl >/dev/null || die "the openssl command is not installed"

# Scratch directory of the leaf being issued; removed however the script ends.
WORK=""
trap '[[ -z $WORK ]] || rm -rf "$WORK"' EXIT

# Runs openssl quietly; on failure shows what openssl said and stops.
run_openssl() {
  local out
  if ! out=$(openssl "$@" 2>&1); then
    echo "$out" >&2
    die "openssl $1 failed"
  fi
}

# Writes the `openssl ca` configuration. `dir` comes from the environment so
# that the PKI directory can be moved; every call below sets LIAISON_CA_DIR.
write_ca_config() {
  local cnf=$1
  cat >"$cnf" <<'EOF'
# openssl ca configuration of a Liaison development CA (written by
# mint-dev-pki.sh). Set LIAISON_CA_DIR to this directory before using it.
[ ca ]
default_ca = liaison_ca

[ liaison_ca ]
dir               = $ENV::LIAISON_CA_DIR
database          = $dir/index.txt
serial            = $dir/serial
crlnumber         = $dir/crlnumber
new_certs_dir     = $dir/issued
certificate       = $dir/ca.pem
private_key       = $dir/ca.key
default_md        = sha256
default_days      = 730
default_crl_days  = 30
policy            = liaison_policy
preserve          = yes
unique_subject    = no
copy_extensions   = none
email_in_dn       = no
crl_extensions    = crl_ext

[ liaison_policy ]
organizationName       = supplied
organizationalUnitName = supplied
commonName             = supplied

[ crl_ext ]
authorityKeyIdentifier = keyid:always

[ req ]
distinguished_name = req_dn
string_mask        = utf8only
utf8               = yes

[ req_dn ]

[ v3_ca ]
basicConstraints     = critical, CA:true, pathlen:0
keyUsage             = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
EOF
}

# Prints the extension section for a leaf of ROLE (with SAN if given).
leaf_extensions() {
  local role=$1 san=$2
  echo "[ leaf ]"
  echo "basicConstraints       = critical, CA:false"
  echo "subjectKeyIdentifier   = hash"
  echo "authorityKeyIdentifier = keyid:always"
  case $role in
    endpoint-tls | operator)
      echo "keyUsage               = critical, digitalSignature"
      echo "extendedKeyUsage       = clientAuth"
      ;;
    endpoint-signing)
      echo "keyUsage               = critical, digitalSignature, nonRepudiation"
      ;;
    endpoint-encryption)
      # ECDH P-256 only: the key agrees evidence key-encryption keys and never signs.
      echo "keyUsage               = critical, keyAgreement"
      echo "extendedKeyUsage       = $EVIDENCE_KEY_AGREEMENT_OID"
      ;;
    broker)
      # serverAuth for the front door; clientAuth for its own TLS connections.
      echo "keyUsage               = critical, digitalSignature"
      echo "extendedKeyUsage       = serverAuth, clientAuth"
      ;;
    kafka)
      # A Kafka node (issued with a SAN) serves TLS and connects to the other
      # nodes; a Kafka client (no SAN) only connects.
      echo "keyUsage               = critical, digitalSignature"
      if [[ -n $san ]]; then
        echo "extendedKeyUsage       = serverAuth, clientAuth"
      else
        echo "extendedKeyUsage       = clientAuth"
      fi
      ;;
  esac
  if [[ -n $san ]]; then
    echo "subjectAltName         = $san"
  fi
}

valid_role() {
  local r
  for r in "${ROLES[@]}"; do [[ $1 == "$r" ]] && return 0; done
  return 1
}

# Creates a CA in DIR/ca (private state) and DIR/ca.pem + DIR/crl.pem.
# ca.pem is written last: its presence means "this PKI is complete".
make_ca() {
  local dir=$1
  local ca="$dir/ca"
  mkdir -p "$dir"
  [[ -e $ca ]] && die "$ca exists but $dir/ca.pem does not (an interrupted run?); remove $dir and retry"
  mkdir -m 700 "$ca"
  mkdir "$ca/issued"
  write_ca_config "$ca/openssl.cnf"
  : >"$ca/index.txt"
  echo "unique_subject = no" >"$ca/index.txt.attr"
  echo 1000 >"$ca/serial"
  echo 01 >"$ca/crlnumber"
  (
    umask 077
    LIAISON_CA_DIR=$ca run_openssl req -config "$ca/openssl.cnf" -x509 -new \
      -newkey ec -pkeyopt ec_paramgen_curve:P-256 -noenc -keyout "$ca/ca.key" \
      -subj "/O=$ORG/CN=$CA_CN" -days "$CA_DAYS" -sha256 -extensions v3_ca \
      -out "$ca/ca.pem"
  )
  chmod 644 "$ca/ca.pem"
  gen_crl "$dir"
}

gen_crl() {
  local dir=$1
  LIAISON_CA_DIR="$dir/ca" run_openssl ca -batch -config "$dir/ca/openssl.cnf" \
    -gencrl -crldays "$CRL_DAYS" -out "$dir/crl.pem.tmp"
  mv "$dir/crl.pem.tmp" "$dir/crl.pem"
}

# issue_leaf DIR ROLE ID OUT_PREFIX ALG START END SAN
issue_leaf() {
  local dir=$1 role=$2 id=$3 out=$4 alg=$5 start=$6 end=$7 san=$8
  local ca="$dir/ca"
  WORK=$(mktemp -d "$ca/work.XXXXXX")
  local work=$WORK
  local newkey=(-newkey ec -pkeyopt ec_paramgen_curve:P-256)
  [[ $alg == ed25519 ]] && newkey=(-newkey ed25519)
  mkdir -p "$(dirname "$out")"
  (
    umask 077
    LIAISON_CA_DIR=$ca run_openssl req -config "$ca/openssl.cnf" -new "${newkey[@]}" \
      -noenc -keyout "$out.key" -subj "/O=$ORG/OU=$role/CN=$id" -out "$work/req.csr"
  )
  leaf_extensions "$role" "$san" >"$work/ext.cnf"
  local dates=(-days "$LEAF_DAYS")
  [[ -n $start ]] && dates=(-startdate "$start" -enddate "$end")
  LIAISON_CA_DIR=$ca run_openssl ca -batch -config "$ca/openssl.cnf" -notext \
    "${dates[@]}" -extfile "$work/ext.cnf" -extensions leaf \
    -in "$work/req.csr" -out "$out.pem"
  chmod 644 "$out.pem"
  rm -rf "$work"
  WORK=""
}

require_pki() {
  local dir=$1
  [[ -f $dir/ca.pem && -f $dir/ca/openssl.cnf ]] || die "$dir is not a PKI made by '$0 init' (no ca.pem or ca/openssl.cnf)"
}

# Allowed ids: letters, digits, '.', '_' and '-' (no '/' or spaces, which
# would break the subject or the file layout).
valid_id() {
  [[ $1 =~ ^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$ ]]
}

# Writes DIR/linkage/epoch-N.key (mode 0600): the network linkage key of
# epoch N, 32 random bytes that every endpoint blinds identifiers with and the
# broker never holds (connectors/endpoint/linkage/linkage_key.h reads it).
# An existing key file is never replaced.
mint_linkage_key() {
  local dir=$1 epoch=$2
  local file="$dir/linkage/epoch-$epoch.key"
  if [[ -e $file ]]; then
    say "$file exists; leaving the linkage key of epoch $epoch as it is"
    return 0
  fi
  mkdir -p -m 700 "$dir/linkage"
  local hex
  hex=$(openssl rand -hex 32) || die "openssl rand failed"
  (
    umask 077
    {
      echo "# Liaison network linkage key, epoch $epoch (development network)."
      echo "# For endpoints only: the broker never holds it. Keep mode 0600."
      echo "format liaison-linkage-key/1"
      echo "epoch $epoch"
      echo "key $hex"
    } >"$file.tmp"
  )
  mv "$file.tmp" "$file"
  say "wrote $file (network linkage key, epoch $epoch)"
}

# The highest epoch with a key file in DIR/linkage, or 0.
latest_linkage_epoch() {
  local dir=$1 f n max=0
  for f in "$dir"/linkage/epoch-*.key; do
    [[ -e $f ]] || continue
    n=${f##*/epoch-}
    n=${n%.key}
    [[ $n =~ ^[1-9][0-9]*$ ]] && ((n > max)) && max=$n
  done
  echo "$max"
}

# linkage-key DIR [--epoch N]: mints epoch N (default: one past the newest,
# i.e. a rotation; 1 on a PKI without any). Older epochs stay in place until
# the network retires them.
cmd_linkage_key() {
  [[ $# -ge 1 ]] || usage
  local dir=$1 epoch=""
  shift
  while [[ $# -gt 0 ]]; do
    case $1 in
      --epoch) [[ $# -ge 2 ]] || die "--epoch needs a value"; epoch=$2; shift 2 ;;
      *) die "unknown option '$1'" ;;
    esac
  done
  require_pki "$dir"
  if [[ -z $epoch ]]; then
    epoch=$(($(latest_linkage_epoch "$dir") + 1))
  fi
  [[ $epoch =~ ^[1-9][0-9]{0,6}$ && $epoch -le 1000000 ]] ||
    die "--epoch '$epoch' is not a whole number in 1..1000000"
  mint_linkage_key "$dir" "$epoch"
}

cmd_init() {
  [[ $# -eq 1 ]] || usage
  local dir=$1
  if [[ -e $dir/ca.pem ]]; then
    # A PKI minted before endpoints had encryption certificates gains them;
    # nothing that exists is touched.
    local id missing=()
    require_pki "$dir"
    for id in "${ENDPOINTS[@]}"; do
      [[ -f $dir/endpoints/$id/enc.pem && -f $dir/endpoints/$id/enc.key ]] && continue
      issue_leaf "$dir" endpoint-encryption "$id" "$dir/endpoints/$id/enc" p256 "" "" ""
      missing+=("$id")
    done
    # ... and a PKI minted before linkage keys existed gains epoch 1.
    [[ $(latest_linkage_epoch "$dir") -gt 0 ]] || mint_linkage_key "$dir" 1
    if [[ ${#missing[@]} -eq 0 ]]; then
      say "$dir/ca.pem exists; leaving the PKI in $dir as it is"
    else
      say "$dir/ca.pem exists; kept it, wrote the missing $dir/endpoints/<ID>/enc.{pem,key} for ${missing[*]}"
    fi
    return 0
  fi
  make_ca "$dir"
  issue_leaf "$dir" broker liaison-broker-1 "$dir/broker/tls" p256 "" "" "DNS:localhost,IP:127.0.0.1"
  local id
  for id in "${ENDPOINTS[@]}"; do
    issue_leaf "$dir" endpoint-tls "$id" "$dir/endpoints/$id/tls" p256 "" "" ""
    issue_leaf "$dir" endpoint-signing "$id" "$dir/endpoints/$id/sign" p256 "" "" ""
    issue_leaf "$dir" endpoint-encryption "$id" "$dir/endpoints/$id/enc" p256 "" "" ""
  done
  issue_leaf "$dir" operator ops-duty-1 "$dir/operators/ops-duty-1/tls" p256 "" "" ""
  mint_linkage_key "$dir" 1
  cp "$dir/ca/ca.pem" "$dir/ca.pem.tmp"
  mv "$dir/ca.pem.tmp" "$dir/ca.pem"
  say "wrote $dir/ca.pem (network CA) and $dir/crl.pem (empty CRL); CA state in $dir/ca/"
  say "wrote $dir/broker/tls.{pem,key} (CN=liaison-broker-1, SAN DNS:localhost, IP:127.0.0.1)"
  say "wrote $dir/endpoints/<ID>/{tls,sign,enc}.{pem,key} for ${ENDPOINTS[*]}"
  say "wrote $dir/operators/ops-duty-1/tls.{pem,key}"
}

cmd_issue() {
  [[ $# -ge 4 ]] || usage
  local dir=$1 role=$2 id=$3 out=$4
  shift 4
  local alg=p256 start="" end="" san=""
  while [[ $# -gt 0 ]]; do
    case $1 in
      --alg) [[ $# -ge 2 ]] || die "--alg needs a value"; alg=$2; shift 2 ;;
      --start) [[ $# -ge 2 ]] || die "--start needs a value"; start=$2; shift 2 ;;
      --end) [[ $# -ge 2 ]] || die "--end needs a value"; end=$2; shift 2 ;;
      --san) [[ $# -ge 2 ]] || die "--san needs a value"; san=$2; shift 2 ;;
      *) die "unknown option '$1'" ;;
    esac
  done
  require_pki "$dir"
  valid_role "$role" || die "unknown role '$role' (expected one of: ${ROLES[*]})"
  valid_id "$id" || die "invalid id '$id' (letters, digits, '.', '_', '-'; at most 64)"
  [[ $alg == p256 || $alg == ed25519 ]] || die "unknown --alg '$alg' (expected p256 or ed25519)"
  if [[ $role == endpoint-encryption && $alg != p256 ]]; then
    die "endpoint-encryption keys are P-256 (ECDH key agreement); --alg $alg cannot agree keys"
  fi
  if [[ -n $start || -n $end ]]; then
    [[ -n $start && -n $end ]] || die "--start and --end go together"
    [[ $start =~ ^[0-9]{14}Z$ ]] || die "--start '$start' is not YYYYMMDDHHMMSSZ"
    [[ $end =~ ^[0-9]{14}Z$ ]] || die "--end '$end' is not YYYYMMDDHHMMSSZ"
    [[ $start < $end ]] || die "--end must be after --start"
  fi
  if [[ -n $san && ! $san =~ ^((DNS|IP):[A-Za-z0-9.:*-]+)(,(DNS|IP):[A-Za-z0-9.:*-]+)*$ ]]; then
    die "--san '$san' is not a list like DNS:host,IP:127.0.0.1"
  fi
  [[ -n $out ]] || die "OUT_PREFIX is empty"
  issue_leaf "$dir" "$role" "$id" "$out" "$alg" "$start" "$end" "$san"
  say "wrote $out.pem and $out.key (OU=$role, CN=$id, $alg${start:+, $start..$end})"
}

cmd_revoke() {
  [[ $# -eq 2 ]] || usage
  local dir=$1 cert=$2
  require_pki "$dir"
  [[ -f $cert ]] || die "no such certificate file: $cert"
  # Only certificates of this CA; the time does not matter for revocation.
  openssl verify -no_check_time -CAfile "$dir/ca.pem" "$cert" >/dev/null 2>&1 ||
    die "$cert was not issued by the CA in $dir"
  local serial out what="revoked"
  serial=$(openssl x509 -in "$cert" -noout -serial)
  serial=${serial#serial=}
  if ! out=$(LIAISON_CA_DIR="$dir/ca" openssl ca -batch -config "$dir/ca/openssl.cnf" \
    -revoke "$cert" 2>&1); then
    [[ $out == *"Already revoked"* ]] || { echo "$out" >&2; die "openssl ca -revoke failed"; }
    what="already revoked"
  fi
  gen_crl "$dir"
  say "serial $serial $what; wrote $dir/crl.pem"
}

cmd_foreign_ca() {
  [[ $# -eq 1 ]] || usage
  local dir=$1
  [[ -e $dir/ca.pem ]] && die "$dir/ca.pem exists; foreign-ca wants a fresh directory"
  # Same subject name as the network CA on purpose: trust must rest on the
  # CA key, never on names.
  make_ca "$dir"
  issue_leaf "$dir" endpoint-signing RO-IGPR "$dir/endpoints/RO-IGPR/sign" p256 "" "" ""
  issue_leaf "$dir" endpoint-tls RO-IGPR "$dir/endpoints/RO-IGPR/tls" p256 "" "" ""
  cp "$dir/ca/ca.pem" "$dir/ca.pem.tmp"
  mv "$dir/ca.pem.tmp" "$dir/ca.pem"
  say "wrote foreign CA $dir/ca.pem and $dir/crl.pem (unrelated key, same CA name)"
  say "wrote $dir/endpoints/RO-IGPR/{sign,tls}.{pem,key}"
}

# Issues the Kafka certificates that are missing in DIR/kafka/<ID>.{pem,key}:
# nodes with SAN localhost/127.0.0.1, clients without. Existing ones are kept.
cmd_kafka() {
  [[ $# -eq 1 ]] || usage
  local dir=$1 id issued=()
  require_pki "$dir"
  for id in "${KAFKA_NODES[@]}" "${KAFKA_CLIENTS[@]}"; do
    [[ -f $dir/kafka/$id.pem && -f $dir/kafka/$id.key ]] && continue
    local san=""
    [[ $id == liaison-kafka-[0-9]* ]] && san="DNS:localhost,IP:127.0.0.1"
    issue_leaf "$dir" kafka "$id" "$dir/kafka/$id" p256 "" "" "$san"
    issued+=("$id")
  done
  if [[ ${#issued[@]} -eq 0 ]]; then
    say "$dir/kafka holds every Kafka certificate; leaving them as they are"
  else
    say "wrote $dir/kafka/<ID>.{pem,key} (OU=kafka) for ${issued[*]}"
  fi
}

[[ $# -ge 1 ]] || usage
sub=$1
shift
case $sub in
  init) cmd_init "$@" ;;
  issue) cmd_issue "$@" ;;
  revoke) cmd_revoke "$@" ;;
  foreign-ca) cmd_foreign_ca "$@" ;;
  kafka) cmd_kafka "$@" ;;
  linkage-key) cmd_linkage_key "$@" ;;
  -h | --help | help) usage ;;
  *) echo "$PROG: unknown subcommand '$sub'" >&2; usage ;;
esac
