# profile "mix2": a second labelled corpus with a different mix than "dev".
# Sourced by /work/shared/lab/mkcorpus.sh (same format as shared/lab/profiles/dev.sh):
#   sudo /work/shared/lab/mkcorpus.sh mix2 /work/main/bench/profiles/mix2.sh
#
# Differences from dev: other node addresses/MACs and scanner/benign roles;
# port sets -p 1-1024, --top-ports 50/300, port ranges; -T3 as well as -T4;
# ACK/Window/Maimon and FIN/XMAS/NULL against BOTH the iptables and the
# nftables host; IPv6 ACK/FIN/XMAS/NULL on both; decoy scans with 2 decoys
# (iptables host) and 5 decoys (nftables host); a slow scan (--scan-delay 4s);
# UDP scans and a UDP/161 sweep; an ICMP timestamp sweep; fragmented scans of
# both firewalls; a few hping3 packets; more benign traffic (two monitoring
# hosts, repeated allowed HTTP, SYN retransmits to closed ports, DNS/NTP).
# No -p- scan, no OS detection.
#
# Safety (as dev): only the lab-mix2-* namespaces that mkcorpus.sh creates,
# only 198.51.100.0/24, 203.0.113.0/24 and 2001:db8::/32 addresses.
#
# run ID NODE SRC EXPECTED TYPE TARGET [NOTES] -- COMMAND...
# run_bg: same, in the background; label_spoofed: decoy rows; ROLE=spoofed run: forged source.
# scan_type strings are chosen so that bench/quality.py's KIND_RULES map them.

FW_HOST=fw1                     # syslog hostname for iptables/ip6tables lines
NFW_HOST=fw2                    # syslog hostname for nftables lines
FW_MAC=52:54:00:1f:00:01; FW_DMZ_MAC=52:54:00:1f:00:02
SRV_MAC=52:54:00:2a:00:82; NFW_MAC=52:54:00:1f:00:03
FW_WAN4=198.51.100.1;  WAN4_LEN=24      # iptables firewall, wan side
FW_WAN4B=203.0.113.1;  WAN4B_LEN=25     # 2nd wan address: everything REJECTed (RST)
FW_WAN6=2001:db8:100::1
FW_DMZ4=203.0.113.129; DMZ4_LEN=25; FW_DMZ6=2001:db8:200::1
SRV4=203.0.113.130;    SRV6=2001:db8:200::130   # DMZ web server behind the firewall
NFW4=198.51.100.3;     NFW6=2001:db8:100::3     # stateless nftables host

# node|mac|ipv4/len|ipv6/len
NODES=(
  "s01|52:54:00:7a:00:1e|198.51.100.30/24|"
  "s02|52:54:00:7a:00:1f|198.51.100.31/24|"
  "s03|52:54:00:7a:00:20|198.51.100.32/24|"
  "s04|52:54:00:7a:00:30|203.0.113.30/25|"
  "s05|52:54:00:7a:00:31|203.0.113.31/25|"
  "s06|52:54:00:7a:00:21|198.51.100.33/24|"
  "s07|52:54:00:7a:00:32|203.0.113.32/25|"
  "s08|52:54:00:7a:00:22|198.51.100.34/24|"
  "s09|52:54:00:7a:00:23|198.51.100.35/24|"
  "s10|52:54:00:7a:00:33|203.0.113.33/25|"
  "s11|52:54:00:7a:00:34|203.0.113.34/25|"
  "s12|52:54:00:7a:00:41||2001:db8:100::21/64"
  "s13|52:54:00:7a:00:42||2001:db8:100::22/64"
  "s14|52:54:00:7a:00:24|198.51.100.36/24|"
  "s15|52:54:00:7a:00:25|198.51.100.37/24|"
  "b01|52:54:00:be:01:d2|198.51.100.210/24|"
  "b02|52:54:00:be:01:6e|203.0.113.110/25|"
  "b03|52:54:00:be:01:d3||2001:db8:100::210/64"
  "b04|52:54:00:be:01:d4|198.51.100.211/24|2001:db8:100::211/64"
  "b05|52:54:00:be:01:6f|203.0.113.111/25|"
)
DECOYS2=(198.51.100.70 203.0.113.70)                                          # -D with 2 decoys
DECOYS5=(198.51.100.80 198.51.100.81 203.0.113.80 203.0.113.81 198.51.100.82)  # -D with 5 decoys

N="nmap -n -Pn"

battery() {
  # --- background: two monitoring hosts and a slow scan
  run_bg b10 b01 198.51.100.210 benign "monitoring ping every 2s (60x)" $FW_WAN4 -- \
      $PY $LAB/lib/ping.py -c 60 -i 2 $FW_WAN4
  run_bg b11 b03 2001:db8:100::210 benign "IPv6 monitoring ping of nft host every 4s (25x)" $NFW6 -- \
      $PY $LAB/lib/ping.py -6 -c 25 -i 4 $NFW6
  run_bg m20 s15 198.51.100.37 scanner "slow SYN scan --scan-delay 4s (10 ports)" $FW_WAN4 \
      "one probe every 4 s, --max-retries 1: ~80 s for 10 ports and their retransmissions" -- \
      $N -sS --scan-delay 4s --max-retries 1 -p 20,21,22,23,25,53,110,139,445,3306 $FW_WAN4

  # --- A. iptables host, INPUT chain
  run m01 s01 198.51.100.30 scanner "TCP SYN scan (-p 1-1024)" $FW_WAN4 -- $N -sS -T4 -p 1-1024 $FW_WAN4
  run b01 b02 203.0.113.110 benign "http GET (allowed, not logged) x3" $FW_WAN4 -- sh -c \
      "for i in 1 2 3; do curl -s -m 3 -o /dev/null http://$FW_WAN4/; sleep 0.5; done"
  run m02 s01 198.51.100.30 scanner "TCP connect scan (top 50, -T3)" $FW_WAN4 -- $N -sT -T3 --top-ports 50 $FW_WAN4
  run m03 s02 198.51.100.31 scanner "TCP ACK scan (top 300)" $FW_WAN4 -- $N -sA -T4 --top-ports 300 $FW_WAN4
  run m04 s02 198.51.100.31 scanner "TCP Window scan (1-150)" $FW_WAN4 -- $N -sW -T4 -p 1-150 $FW_WAN4
  run m05 s02 198.51.100.31 scanner "TCP Maimon scan (FIN/ACK, top 50, -T3)" $FW_WAN4 -- $N -sM -T3 --top-ports 50 $FW_WAN4
  run b02 b02 203.0.113.110 benign "https attempt to closed port (SYN retransmits)" $FW_WAN4 -- \
      curl -s --connect-timeout 4 -o /dev/null https://$FW_WAN4/
  run m06 s03 198.51.100.32 scanner "TCP FIN scan (top 50, -T3)" $FW_WAN4 -- $N -sF -T3 --top-ports 50 $FW_WAN4
  run m07 s03 198.51.100.32 scanner "TCP XMAS scan (1000-1100)" $FW_WAN4 -- $N -sX -T4 -p 1000-1100 $FW_WAN4
  run m08 s03 198.51.100.32 scanner "TCP NULL scan (top 300)" $FW_WAN4 -- $N -sN -T4 --top-ports 300 $FW_WAN4
  run b03 b02 203.0.113.110 benign "DNS query to firewall (2 retries)" $FW_WAN4 -- $PY -c \
      "import socket;s=socket.socket(2,2);s.settimeout(1.5);q=b'\x56\x78\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x07example\x03org\x00\x00\x01\x00\x01'
for i in range(3):
  s.sendto(q,('$FW_WAN4',53))
  try: s.recv(512)
  except Exception: pass"
  run m09 s04 203.0.113.30 scanner "UDP scan (top 25)" $FW_WAN4 -- $N -sU -T4 --top-ports 25 $FW_WAN4
  run m10 s05 203.0.113.31 scanner "SYN scan with 2 decoys (-D, 1-300)" $FW_WAN4 "real scanner among 2 decoys" -- \
      $N -sS -T4 -D ${DECOYS2[0]},ME,${DECOYS2[1]} -p 1-300 $FW_WAN4
  local d
  for d in "${DECOYS2[@]}"; do
    label_spoofed m10 "$d" scanner "SYN scan with 2 decoys (-D, 1-300): spoofed decoy" $FW_WAN4 "decoy address, never sent anything itself"
  done
  run m11 s06 198.51.100.33 scanner "fragmented SYN scan -f (nft host: fragments logged, 100-160)" $NFW4 -- \
      $N -sS -f -T4 -p 100-160 $NFW4
  run m12 s06 198.51.100.33 scanner "fragmented SYN scan -f (iptables host: reassembled, top 50)" $FW_WAN4 \
      "local delivery reassembles fragments before INPUT, so the log shows whole packets" -- \
      $N -sS -f -T4 --top-ports 50 $FW_WAN4
  run m13 s07 203.0.113.32 scanner "SYN scan of the REJECT address (top 300, -T3)" $FW_WAN4B \
      "target REJECTs with RST: one probe per port" -- $N -sS -T3 --top-ports 300 $FW_WAN4B
  run m14 s07 203.0.113.32 scanner "python connect() scanner (1-40)" $FW_WAN4 -- \
      $PY $LAB/lib/pyscan.py --timeout 1.5 $FW_WAN4 1-40

  # --- B. through the firewall (FORWARD chain)
  run m15 s08 198.51.100.34 scanner "ICMP timestamp sweep (-sn -PP) /28" 203.0.113.128/28 -- nmap -n -sn -PP -T4 203.0.113.128/28
  run m16 s08 198.51.100.34 scanner "TCP/3389 SYN sweep /28" 203.0.113.128/28 -- $N -sS -T4 -p 3389 203.0.113.128/28
  run m17 s08 198.51.100.34 scanner "UDP/161 sweep /28" 203.0.113.128/28 -- $N -sU -T4 -p 161 203.0.113.128/28
  run m18 s08 198.51.100.34 scanner "SYN scan of DMZ server (1-1024)" $SRV4 -- $N -sS -T4 -p 1-1024 $SRV4
  run b04 b04 198.51.100.211 benign "http GET to DMZ server (allowed) x4" $SRV4 -- sh -c \
      "for i in 1 2 3 4; do curl -s -m 3 -o /dev/null http://$SRV4/; sleep 0.3; done"
  run b05 b04 198.51.100.211 benign "SMTP attempt to DMZ server (SYN retransmits)" $SRV4 -- \
      $PY -c "import socket;s=socket.socket();s.settimeout(3.5);s.connect_ex(('$SRV4',25))"
  run b06 b04 198.51.100.211 benign "DNS query to DMZ server (FORWARD, 1 retry)" $SRV4 -- $PY -c \
      "import socket;s=socket.socket(2,2);s.settimeout(1.5);q=b'\x9a\xbc\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x03www\x07example\x03net\x00\x00\x1c\x00\x01'
for i in range(2):
  s.sendto(q,('$SRV4',53))
  try: s.recv(512)
  except Exception: pass"

  # --- C. stateless nftables host
  run m21 s09 198.51.100.35 scanner "TCP ACK scan (1-200)" $NFW4 -- $N -sA -T4 -p 1-200 $NFW4
  run m22 s09 198.51.100.35 scanner "TCP FIN scan (top 100)" $NFW4 -- $N -sF -T4 --top-ports 100 $NFW4
  run m23 s09 198.51.100.35 scanner "TCP NULL scan (1-100, -T3)" $NFW4 -- $N -sN -T3 -p 1-100 $NFW4
  run m24 s09 198.51.100.35 scanner "TCP Maimon scan (FIN/ACK, top 50)" $NFW4 -- $N -sM -T4 --top-ports 50 $NFW4
  run m25 s09 198.51.100.35 scanner "TCP Window scan (top 50)" $NFW4 -- $N -sW -T4 --top-ports 50 $NFW4
  run b07 b05 203.0.113.111 benign "http GET to nft host (allowed) x3" $NFW4 -- sh -c \
      "for i in 1 2 3; do curl -s -m 3 -o /dev/null http://$NFW4/; sleep 0.5; done"
  run m26 s10 203.0.113.33 scanner "TCP SYN scan (top 300, -T3)" $NFW4 -- $N -sS -T3 --top-ports 300 $NFW4
  run m27 s10 203.0.113.33 scanner "TCP XMAS scan (top 50)" $NFW4 -- $N -sX -T4 --top-ports 50 $NFW4
  run m28 s10 203.0.113.33 scanner "UDP scan (top 20)" $NFW4 -- $N -sU -T4 --top-ports 20 $NFW4
  run b08 b05 203.0.113.111 benign "NTP query to nft host (dropped, 1 retry)" $NFW4 -- $PY -c \
      "import socket;s=socket.socket(2,2);s.settimeout(1.5);q=b'\x23'+b'\0'*47
for i in range(2):
  s.sendto(q,('$NFW4',123))
  try: s.recv(512)
  except Exception: pass"
  run m29 s11 203.0.113.34 scanner "SYN scan with 5 decoys (-D, 20-120)" $NFW4 "real scanner among 5 decoys" -- \
      $N -sS -T4 -D ${DECOYS5[0]},${DECOYS5[1]},${DECOYS5[2]},ME,${DECOYS5[3]},${DECOYS5[4]} -p 20-120 $NFW4
  for d in "${DECOYS5[@]}"; do
    label_spoofed m29 "$d" scanner "SYN scan with 5 decoys (-D, 20-120): spoofed decoy" $NFW4 "decoy address, never sent anything itself"
  done

  # --- D. IPv6
  run m30 s12 2001:db8:100::21 scanner "IPv6 TCP ACK scan (top 100)" $FW_WAN6 -- $N -6 -sA -T4 --top-ports 100 $FW_WAN6
  run m31 s12 2001:db8:100::21 scanner "IPv6 TCP FIN scan (1-100)" $FW_WAN6 -- $N -6 -sF -T4 -p 1-100 $FW_WAN6
  run m32 s12 2001:db8:100::21 scanner "IPv6 TCP XMAS scan (nft host, 1-60)" $NFW6 -- $N -6 -sX -T4 -p 1-60 $NFW6
  run b09 b04 2001:db8:100::211 benign "IPv6 http GET (allowed) x2 + https attempt" $FW_WAN6 -- sh -c \
      "curl -s -m 3 -o /dev/null http://[$FW_WAN6]/; curl -s -m 3 -o /dev/null http://[$FW_WAN6]/; curl -s --connect-timeout 2 -o /dev/null https://[$FW_WAN6]/; true"
  run m33 s13 2001:db8:100::22 scanner "IPv6 TCP ACK scan (nft host, 1-150)" $NFW6 -- $N -6 -sA -T4 -p 1-150 $NFW6
  run m34 s13 2001:db8:100::22 scanner "IPv6 TCP FIN scan (nft host, top 50)" $NFW6 -- $N -6 -sF -T4 --top-ports 50 $NFW6
  run m35 s13 2001:db8:100::22 scanner "IPv6 TCP NULL scan (top 50, -T3)" $FW_WAN6 -- $N -6 -sN -T3 --top-ports 50 $FW_WAN6
  run m36 s13 2001:db8:100::22 scanner "IPv6 UDP scan (nft host, top 10)" $NFW6 -- $N -6 -sU -T4 --top-ports 10 $NFW6
  run m37 s13 2001:db8:100::22 scanner "IPv6 SYN scan of DMZ server (FORWARD, 1-100)" $SRV6 -- $N -6 -sS -T4 -p 1-100 $SRV6

  # --- E. a few crafted packets (hping3)
  local H="hping3 -q"
  run c01 s14 198.51.100.36 scanner "hping3 SYN+FIN (nft host)" $NFW4 -- $H -c 3 -S -F -p 22 $NFW4
  run c02 s14 198.51.100.36 scanner "hping3 NULL flags" $FW_WAN4 -- $H -c 3 -p 6000 $FW_WAN4
  run c03 s14 198.51.100.36 scanner "hping3 all TCP flags (SFRPAU, nft host)" $NFW4 -- $H -c 2 -FSRPAU -p 443 $NFW4
  run c04 s14 198.51.100.36 scanner "hping3 ICMP timestamp request" $FW_WAN4 -- $H -c 3 --icmp --icmp-ts $FW_WAN4
  run c05 s14 198.51.100.36 scanner "hping3 UDP dport 0 (nft host)" $NFW4 -- $H -c 2 -2 -p 0 $NFW4
  run c06 s14 198.51.100.36 scanner "hping3 SYN burst to 8443 (20 packets, 50 ms)" $FW_WAN4 -- $H -c 20 -i u50000 -S -p 8443 $FW_WAN4
  ROLE=spoofed run c07 s14 $FW_WAN4B scanner "LAND against the REJECT address: src=dst (hping3 -a)" $FW_WAN4B \
      "source forged by s14 (198.51.100.36); raw PREROUTING SPOOF rule" -- \
      $H -c 2 -S -a $FW_WAN4B -p 445 $FW_WAN4B

  # --- F. more benign traffic
  run b12 b05 203.0.113.111 benign "ping x4 to DMZ server (FORWARD, dropped)" $SRV4 -- $PY $LAB/lib/ping.py -c 4 -i 0.5 $SRV4
  run b13 b02 203.0.113.110 benign "NTP query to firewall (dropped, 1 retry)" $FW_WAN4 -- $PY -c \
      "import socket;s=socket.socket(2,2);s.settimeout(1.5);q=b'\x23'+b'\0'*47
for i in range(2):
  s.sendto(q,('$FW_WAN4',123))
  try: s.recv(512)
  except Exception: pass"
  run b14 fw $FW_WAN4 benign "firewall outbound SMTP attempt (OUTPUT, REJECTed)" 198.51.100.211 -- \
      $PY -c "import socket;s=socket.socket();s.settimeout(2);s.connect_ex(('198.51.100.211',25))"
}
