#!/usr/bin/env python3
"""TAXII 2.1 interoperability checks against the OASIS reference implementations.

Run by run.sh (see README.md here), which starts two Accord nodes (XA, XB) and medallion and
passes their addresses. Part A drives XA with taxii2client (the v21 API): as XA's operator over
HTTP Basic, then as partner XB over a bearer token. Part B runs `accord taxii pull` on XB against
medallion's sample data. Prints PASS or FAIL per check; exits 1 if any check failed.
"""

import argparse
import datetime
import json
import os
import shlex
import subprocess
import sys
import uuid

import requests
from taxii2client.v21 import ApiRoot, Collection, Server, as_pages

TAXII_MEDIA_TYPE = "application/taxii+json;version=2.1"
# Accord's provenance extension (src/core/provenance.ts, spec/provenance.md)
PROVENANCE_EXTENSION = "extension-definition--8d4a5c3e-6b7f-4c1a-9e2d-3f5a7b9c1d2e"
# medallion's sample data (medallion/test/data/default_data.json), API root `trustgroup1`
MEDALLION_API_ROOT = "trustgroup1"
MEDALLION_INDICATORS = "91a7b528-80eb-42ed-a74d-c6fbd5a26116"  # readable, writable, 5 objects
MEDALLION_UNREADABLE = "472c94ae-3113-4e3e-a4dd-a9f4ac7471d4"  # can_read false


class BearerAuth(requests.auth.AuthBase):
    """taxii2client's TokenAuth sends `Token ...`; TAXII servers such as Accord take Bearer."""

    def __init__(self, token):
        self.token = token

    def __call__(self, request):
        request.headers["Authorization"] = f"Bearer {self.token}"
        return request


class CheckFailed(Exception):
    pass


def expect(condition, message):
    if not condition:
        raise CheckFailed(message)


def http_status(call):
    """The HTTP status the call failed with, or a CheckFailed if it succeeded."""
    try:
        call()
    except requests.exceptions.HTTPError as e:
        return e.response.status_code
    raise CheckFailed("the request succeeded")


class Report:
    def __init__(self):
        self.run = 0
        self.failed = []

    def check(self, name, fn):
        """Run one check; what it returns is printed after PASS."""
        self.run += 1
        try:
            detail = fn()
        except Exception as e:  # any failure of the check, including the client's own errors
            self.failed.append(name)
            print(f"FAIL  {name}: {type(e).__name__}: {e}", flush=True)
            return
        print(f"PASS  {name}" + (f" ({detail})" if detail else ""), flush=True)


def stix_time(t):
    return t.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def indicator(n, when, object_id=None):
    return {
        "type": "indicator",
        "spec_version": "2.1",
        "id": object_id or f"indicator--{uuid.uuid4()}",
        "created": stix_time(when),
        "modified": stix_time(when),
        "name": f"interop indicator {n}",
        "pattern": f"[file:hashes.'SHA-256' = '{uuid.uuid4().hex}{uuid.uuid4().hex}']",
        "pattern_type": "stix",
        "valid_from": stix_time(when),
        # not among the agreement's permitted properties: a partner's copy must not carry it
        "labels": ["interop-internal"],
    }


def all_pages(method, per_request, **filters):
    pages = list(as_pages(method, per_request=per_request, **filters))
    return pages, [o for p in pages for o in p.get("objects", [])]


def part_a(report, args):
    token = read_secret(os.path.join(args.xa_dir, "keys", "api-token"))
    discovery_url = f"{args.xa_url}/taxii2/"
    api_root_url = f"{args.xa_url}/taxii2/api/"
    operator = {"user": "operator", "password": token}
    state = {}

    def discovery():
        server = Server(discovery_url, **operator)
        urls = [a.url for a in server.api_roots]
        expect(api_root_url in urls, f"api_roots {urls} lack {api_root_url}")
        expect(server.default is not None and server.default.url == api_root_url, "default")
        return f"title {server.title!r}, {len(urls)} API root"

    def api_root():
        root = ApiRoot(api_root_url, **operator)
        expect(TAXII_MEDIA_TYPE in root.versions, f"versions {root.versions}")
        expect(root.max_content_length > 0, "max_content_length")
        return f"max_content_length {root.max_content_length}"

    def collections():
        root = ApiRoot(api_root_url, **operator)
        local = local_collection(root)
        expect(local.can_read and local.can_write, "local is not read/write")
        state["local"] = Collection(local.url, **operator)
        expect(state["local"].id == local.id, "the collection read by URL has another id")
        return f"{len(root.collections)} collections, local {local.id}"

    def add_objects():
        now = datetime.datetime.now(datetime.timezone.utc)
        objects = [indicator(n, now) for n in range(7)]
        status = state["local"].add_objects(
            {"objects": objects}, wait_for_completion=True, poll_interval=1, timeout=30
        )
        expect(status.status == "complete", f"status {status.status}")
        expect(status.success_count == 7 and status.failure_count == 0, f"{status.success_count}")
        # a second version of the first object, for versions and match[version]
        later = now + datetime.timedelta(seconds=1)
        second = indicator(0, later, objects[0]["id"])
        second["created"] = objects[0]["created"]
        status2 = state["local"].add_objects({"objects": [second]}, wait_for_completion=True)
        expect(status2.success_count == 1, f"second version: {status2.success_count}")
        state.update(objects=objects, versioned=objects[0]["id"], status_id=status.id)
        return f"status {status.id}: 7 of 7, then 1 of 1"

    def status_by_url():
        root = ApiRoot(api_root_url, **operator)
        status = root.get_status(state["status_id"])
        expect(status.status == "complete" and status.total_count == 7, f"{status.status}")
        return f"{status.url}"

    def paged_objects():
        pages, objects = all_pages(state["local"].get_objects, 3)
        ids = [o["id"] for o in objects]
        expect(len(ids) == len(set(ids)), "an object was served twice")
        expect({o["id"] for o in state["objects"]} <= set(ids), "an added object is missing")
        expect(len(pages) >= 3, f"{len(pages)} pages")
        return f"{len(objects)} objects in {len(pages)} pages of 3"

    def filter_type_and_id():
        by_type = state["local"].get_objects(type="indicator")["objects"]
        expect(all(o["type"] == "indicator" for o in by_type), "another type")
        one = state["local"].get_objects(id=state["versioned"])["objects"]
        expect([o["id"] for o in one] == [state["versioned"]], f"match[id] gave {len(one)}")
        every = state["local"].get_objects(id=state["versioned"], version="all")["objects"]
        expect(len(every) == 2, f"match[version]=all gave {len(every)}")
        return f"type: {len(by_type)}, id: 1, id with version=all: 2"

    def added_after_and_limit():
        manifest = state["local"].get_manifest()["objects"]
        expect(len(manifest) >= 4, "manifest too short")
        page = state["local"].get_objects(added_after=manifest[1]["date_added"], limit=2)
        got = [o["id"] for o in page["objects"]]
        expect(got == [m["id"] for m in manifest[2:4]], f"{got}")
        expect(page.get("more") is (len(manifest) > 4), f"more {page.get('more')}")
        return f"added_after {manifest[1]['date_added']}, limit 2"

    def get_object():
        page = state["local"].get_object(state["versioned"])
        expect([o["id"] for o in page["objects"]] == [state["versioned"]], "get_object")
        expect(page["objects"][0]["name"] == "interop indicator 0", "not the latest version")
        return state["versioned"]

    def object_versions():
        versions = state["local"].object_versions(state["versioned"])["versions"]
        expect(len(versions) == 2 and versions[0] < versions[1], f"{versions}")
        return ", ".join(versions)

    def paged_manifest():
        pages, records = all_pages(state["local"].get_manifest, 3)
        expect({o["id"] for o in state["objects"]} <= {r["id"] for r in records}, "missing")
        expect(all(r.get("date_added") and r.get("version") for r in records), "record fields")
        return f"{len(records)} records in {len(pages)} pages of 3"

    def delete_object():
        gone = state["objects"][-1]["id"]
        state["local"].delete_object(gone)
        expect(http_status(lambda: state["local"].get_object(gone)) == 404, "still served")
        state["deleted"] = gone
        return f"{gone}, then 404"

    def wrong_password():
        server = Server(discovery_url, user="operator", password=token + "x")
        expect(http_status(lambda: server.title) == 401, "not 401")
        return "401"

    def partner_bearer():
        partner = {"auth": BearerAuth(read_secret(args.partner_token_file))}
        root = Server(discovery_url, **partner).api_roots[0]
        (mine,) = root.collections
        expect(mine.can_read and not mine.can_write, "the partner's collection is not read-only")
        _pages, objects = all_pages(mine.get_objects, 3)
        live = len(state["objects"]) - 1  # one was deleted
        expect(len(objects) == live, f"{len(objects)} objects, expected {live}")
        expect(all("labels" not in o for o in objects), "a property the agreement omits")
        expect(
            all(PROVENANCE_EXTENSION in o.get("extensions", {}) for o in objects),
            "an object without provenance",
        )
        local_url = state["local"].url
        expect(http_status(lambda: Collection(local_url, **partner).title) == 404, "local")
        return f"{len(objects)} released objects, minimized, with provenance; local is 404"

    def partner_add_objects():
        writer = {"auth": BearerAuth(read_secret(args.partner_writer_token_file))}
        (mine,) = Server(discovery_url, **writer).api_roots[0].collections
        expect(mine.can_read and mine.can_write, "the partner's collection is not read-write")
        sent = indicator(100, datetime.datetime.now(datetime.timezone.utc))
        del sent["labels"]
        status = mine.add_objects({"objects": [sent]}, wait_for_completion=True)
        expect(status.status == "complete" and status.success_count == 1, f"{status.failures}")
        stored = state["local"].get_object(sent["id"])["objects"]
        expect([o["id"] for o in stored] == [sent["id"]], "not stored on XA")
        return f"status {status.id}: 1 of 1, stored on XA"

    def partner_wrong_token():
        server = Server(discovery_url, auth=BearerAuth(read_secret(args.partner_token_file) + "x"))
        expect(http_status(lambda: server.title) == 401, "not 401")
        return "401"

    for name, fn in [
        ("A1 discovery", discovery),
        ("A2 API root", api_root),
        ("A3 collections, collection by URL", collections),
        ("A4 add_objects with wait_for_completion", add_objects),
        ("A5 status by URL", status_by_url),
        ("A6 get_objects paged (as_pages, 3)", paged_objects),
        ("A7 filters: type, id, id+version=all", filter_type_and_id),
        ("A8 filters: added_after + limit", added_after_and_limit),
        ("A9 get_object", get_object),
        ("A10 object_versions", object_versions),
        ("A11 get_manifest paged (as_pages, 3)", paged_manifest),
        ("A12 delete_object, then 404", delete_object),
        ("A13 wrong password: 401", wrong_password),
        ("A14 partner collection over bearer", partner_bearer),
        ("A15 partner add_objects over bearer (read-write credential)", partner_add_objects),
        ("A16 partner with a wrong token: 401", partner_wrong_token),
    ]:
        report.check(name, fn)


def part_b(report, args):
    medallion_root = f"{args.medallion_url}/{MEDALLION_API_ROOT}/"
    password = read_secret(args.medallion_password_file)
    medallion = {"user": args.medallion_user, "password": password}
    indicators = Collection(f"{medallion_root}collections/{MEDALLION_INDICATORS}/", **medallion)
    xb_token = read_secret(os.path.join(args.xb_dir, "keys", "api-token"))
    xb_local = local_collection(
        ApiRoot(f"{args.xb_url}/taxii2/api/", user="operator", password=xb_token)
    )
    state = {}

    def pull(collection, *extra):
        cmd = shlex.split(args.accord) + [
            "taxii", "pull", medallion_root, "--collection", collection,
            "--user", args.medallion_user, "--password-file", args.medallion_password_file,
            "--dir", args.xb_dir, "--json", *extra,
        ]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
        try:
            doc = json.loads(done.stdout)
        except json.JSONDecodeError:
            raise CheckFailed(f"exit {done.returncode}: {done.stdout[-300:]} {done.stderr[-300:]}")
        return done.returncode, doc

    def held_once():
        """XB holds every object medallion serves (last versions), each exactly once."""
        _p, theirs = all_pages(indicators.get_objects, 100)
        _p, ours = all_pages(xb_local.get_objects, 100, version="all")
        pairs = [(o["id"], o.get("modified", o.get("created"))) for o in ours]
        expect(len(pairs) == len(set(pairs)), "a version is held twice")
        missing = {(o["id"], o.get("modified", o.get("created"))) for o in theirs} - set(pairs)
        expect(not missing, f"not held: {sorted(missing)}")
        return len(theirs)

    def interrupted():
        code, doc = pull(MEDALLION_INDICATORS, "--limit", "2", "--max-pages", "2")
        expect(code == 0, f"exit {code}: {doc}")
        expect(doc["pages"] == 2 and doc["objects"] == 4, f"{doc['pages']} pages")
        expect(doc["complete"] is False and doc["bookmark"], "not stopped with a bookmark")
        state["first"] = doc
        return f"2 pages of 2, stored {doc['stored']}, bookmark {doc['bookmark']}"

    def resumed():
        now = datetime.datetime.now(datetime.timezone.utc)
        added = [indicator(n, now) for n in range(3)]
        status = indicators.add_objects({"objects": added}, wait_for_completion=True)
        expect(status.success_count == 3, f"medallion took {status.success_count} of 3")
        code, doc = pull(MEDALLION_INDICATORS, "--limit", "2")
        expect(code == 0, f"exit {code}: {doc}")
        expect(doc["resumedFrom"] == state["first"]["bookmark"], f"resumed from {doc['resumedFrom']}")
        expect(doc["complete"] is True and doc["pages"] >= 2, f"{doc['pages']} pages")
        n = held_once()
        expect(state["first"]["stored"] + doc["stored"] == n, "stored counts do not add up")
        return f"{doc['pages']} pages, stored {doc['stored']}, all {n} held once"

    def again():
        code, doc = pull(MEDALLION_INDICATORS, "--limit", "2")
        expect(code == 0 and doc["stored"] == 0 and doc["complete"], f"exit {code}: {doc}")
        held_once()
        return f"{doc['objects']} fetched again, 0 stored"

    def unreadable():
        code, doc = pull(MEDALLION_UNREADABLE)
        expect(code == 4 and doc.get("error", {}).get("code") == "ERR_FORBIDDEN", f"{code} {doc}")
        return "exit 4, ERR_FORBIDDEN"

    for name, fn in [
        ("B1 pull --limit 2, interrupted by --max-pages 2", interrupted),
        ("B2 pull resumed from its bookmark after new objects", resumed),
        ("B3 pull again: nothing new stored", again),
        ("B4 unreadable collection refused", unreadable),
    ]:
        report.check(name, fn)


def local_collection(api_root):
    """An Accord node's `local` collection, titled `<node>: local`."""
    local = [c for c in api_root.collections if c.title.endswith(": local")]
    expect(len(local) == 1, f"no local collection among {[c.title for c in api_root.collections]}")
    return local[0]


def read_secret(path):
    with open(path, encoding="utf-8") as f:
        return f.read().strip()


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--accord", required=True, help="the accord command, e.g. 'node dist/cli/main.js'")
    p.add_argument("--xa-url", required=True)
    p.add_argument("--xa-dir", required=True)
    p.add_argument("--xb-url", required=True)
    p.add_argument("--xb-dir", required=True)
    p.add_argument("--partner-token-file", required=True, help="XB's read-only token on XA")
    p.add_argument("--partner-writer-token-file", required=True, help="XB's read-write token")
    p.add_argument("--medallion-url", required=True)
    p.add_argument("--medallion-user", required=True)
    p.add_argument("--medallion-password-file", required=True)
    args = p.parse_args()
    report = Report()
    part_a(report, args)
    part_b(report, args)
    print(f"{'FAILED' if report.failed else 'PASSED'}: {len(report.failed)} of {report.run} checks failed")
    sys.exit(1 if report.failed else 0)


if __name__ == "__main__":
    main()
