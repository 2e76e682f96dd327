# shellcheck shell=bash
# lab_pki.sh - part of lab.sh (sourced by it; not on its own): a throw-away
# certificate authority and a single TLS etcd member, for the tests of
# vipd's etcd TLS (t_22, t_43). Nothing here leaves $LAB_DIR.

# lab_pki DIR: make DIR/{ca,server,client,other}.{crt,key}: a CA; a server
# certificate for 127.0.0.1 and n1's address; a client certificate with no
# CommonName (etcd's JSON gateway refuses client certificates that carry
# one when auth is enabled: it would not map it to a user); "other" a
# second client key and certificate, for the wrong-key cases. RSA 2048,
# one day. Needs openssl (the caller skips without it).
lab_pki() {
	local d=$1 c
	mkdir -p "$d"
	(
		cd "$d" || exit 1
		openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=lab-etcd-ca \
			-keyout ca.key -out ca.crt 2>/dev/null
		openssl req -newkey rsa:2048 -nodes -subj /CN=etcd -keyout server.key -out server.csr 2>/dev/null
		printf 'subjectAltName=IP:127.0.0.1,IP:%s\nextendedKeyUsage=serverAuth,clientAuth\n' \
			"$(lab_node_addr4 n1)" >server.ext
		openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 1 \
			-extfile server.ext -out server.crt 2>/dev/null
		printf 'extendedKeyUsage=clientAuth\n' >client.ext
		for c in client other; do
			openssl req -newkey rsa:2048 -nodes -subj /O=vipd-client -keyout $c.key -out $c.csr 2>/dev/null
			openssl x509 -req -in $c.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 1 \
				-extfile client.ext -out $c.crt 2>/dev/null
		done
	) || lab_fail "lab_pki: openssl failed in $d"
}

# lab_etcd_tls_start DIR [ETCD_ARGS...]: run etcd as n1's only member,
# serving HTTPS only on 127.0.0.1:2379 with client-certificate auth, with
# DIR from lab_pki; waits until it is healthy over TLS.
lab_etcd_tls_start() {
	local d=$1 a
	shift
	a=$(lab_node_addr4 n1)
	lab_run 1 etcd etcd --name n1 --data-dir "$LAB_DIR/n1/etcd.data" \
		--listen-client-urls https://127.0.0.1:2379 --advertise-client-urls https://127.0.0.1:2379 \
		--listen-peer-urls "http://$a:2380" --initial-advertise-peer-urls "http://$a:2380" \
		--initial-cluster "n1=http://$a:2380" --initial-cluster-state new \
		--cert-file "$d/server.crt" --key-file "$d/server.key" \
		--trusted-ca-file "$d/ca.crt" --client-cert-auth \
		--enable-grpc-gateway --logger zap --log-outputs stderr "$@"
	lab_wait_until 15 lab_etcdctl_tls "$d" endpoint health >/dev/null 2>&1 ||
		lab_fail "TLS etcd not healthy"
}

# lab_etcdctl_tls DIR ARGS...: etcdctl against that member with the client
# certificate.
lab_etcdctl_tls() {
	local d=$1
	shift
	lab_exec 1 env ETCDCTL_API=3 etcdctl --endpoints=https://127.0.0.1:2379 \
		--cacert "$d/ca.crt" --cert "$d/client.crt" --key "$d/client.key" \
		--dial-timeout=2s --command-timeout=5s "$@"
}
