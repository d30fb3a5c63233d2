# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""A site policy built on the shipped library (extends) with drop-ins, as
/etc/scopelock/policy.yaml and policy.d/ are: the daemon loads the merged
policy (its digest covers every file), `policy reload` picks up a new
drop-in, a drop-in with an error is refused naming its file and line (the
running policy stays), `policy show` prints what is enforced and it loads
again as a policy of its own; the template make install puts in /etc loads."""

import hashlib
import json
import re

from harness import REPO, check, cli, eq

DEFAULT = REPO / "policies" / "default.yaml"


def status(d):
    r = d.cli("status", "--json")
    eq(r.rc, 0, f"status ({r})")
    return json.loads(r.stdout)


def test_site_policy_with_dropins(t):
    site = t.tmp / "etc" / "policy.yaml"
    dropins = t.tmp / "etc" / "policy.d"
    dropins.mkdir(parents=True)
    site.write_text(f"extends: {DEFAULT}\n"
                    "environments:\n  production:\n    paths: [/srv/prod/**]\n"
                    "settings:\n  hold_timeout: 7m\n")
    (dropins / "10-staging.yaml").write_text(
        "environments:\n  staging:\n    hosts: [\"*.staging.example.com\"]\n")
    r = cli("policy", "check", "--no-secrets", str(site))
    eq(r.rc, 0, f"policy check ({r})")
    check("3 files merged" in r.stdout, f"check says the files were merged: {r.stdout!r}")

    d = t.daemon(policy=str(site))
    st = status(d)
    own = hashlib.sha256(site.read_bytes()).hexdigest()
    check(st["policy_sha256"] != own, "the digest covers every layer, not the site file alone")
    gen = st["policy_generation"]

    # a new drop-in: reload picks it up
    (dropins / "20-quiet.yaml").write_text("disable_rules: [destroy-cli-unknown-target]\n")
    r = d.cli("policy", "reload")
    eq(r.rc, 0, f"reload with a new drop-in ({r})")
    st2 = status(d)
    eq(st2["policy_generation"], gen + 1, "generation after the reload")
    check(st2["policy_sha256"] != st["policy_sha256"], "the new drop-in changed the digest")

    # a drop-in with an error: refused, named, the running policy stays
    (dropins / "30-bad.yaml").write_text(
        "rules:\n  - {name: x, channel: tcp, target: any, action: alert}\n")
    r = d.cli("policy", "reload")
    check(r.rc != 0, f"reload with a bad drop-in must fail ({r})")
    out = r.stdout + r.stderr
    check("30-bad.yaml:2:" in out, f"the refusal names the drop-in and its line: {out!r}")
    refused = d.records(type="policy_refused")
    check(refused and "30-bad.yaml" in refused[-1].get("errors", ""),
          f"policy_refused names the drop-in: {refused[-1:] if refused else None}")
    eq(status(d)["policy_generation"], gen + 1, "the running policy stays")
    (dropins / "30-bad.yaml").unlink()

    # what is enforced, as YAML, loads on its own to the same counts
    r = cli("policy", "show", str(site))
    eq(r.rc, 0, f"policy show ({r})")
    check(str(dropins / "20-quiet.yaml") in r.stdout, "show names the drop-ins")
    eff = t.tmp / "effective.yaml"
    eff.write_text(r.stdout)
    r1 = cli("policy", "check", "--no-secrets", str(site))
    r2 = cli("policy", "check", "--no-secrets", str(eff))
    eq(r2.rc, 0, f"the shown policy loads ({r2})")
    counts = lambda s: s.split("(", 1)[1].split(" rules")[0]
    eq(counts(r2.stdout), counts(r1.stdout), "the shown policy has what the layers have")


def test_etc_template_loads(t):
    tmpl = (REPO / "dist" / "policy.yaml").read_text()
    check("extends: shipped" in tmpl, "the template builds on the shipped library")
    p = t.tmp / "policy.yaml"
    # 'shipped' is PREFIX/share/scopelock/policies/default.yaml: here the repo's copy
    p.write_text(tmpl.replace("extends: shipped", f"extends: {DEFAULT}"))
    r = cli("policy", "check", "--no-secrets", str(p))
    eq(r.rc, 0, f"the /etc template ({r})")
    r0 = cli("policy", "check", "--no-secrets", str(DEFAULT))
    counts = lambda s: re.search(r"\((\d+ environments, \d+ patterns, \d+ rules)", s).group(1)
    eq(counts(r.stdout), counts(r0.stdout), "the template alone enforces the shipped policy")
