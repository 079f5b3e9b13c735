"""Checks an SBOM the way its consumers read it: validated against the
CycloneDX 1.6 JSON schema by CycloneDX's own library, then parsed by
lib4sbom (the reader behind cve-bin-tool). Prints one JSON line:
{"errors": ..., "packages": [[name, version, purl], ...]}."""

import json
import sys

from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator
from lib4sbom.parser import SBOMParser

path = sys.argv[1]
errors = JsonStrictValidator(SchemaVersion.V1_6).validate_str(open(path).read())
parser = SBOMParser(sbom_type="cyclonedx")
parser.parse_file(path)
packages = []
for package in parser.get_packages():
    purl = next(
        (r[2] for r in package.get("externalreference", []) if r[1] == "purl"),
        None,
    )
    packages.append([package.get("name"), package.get("version"), purl])
print(json.dumps({"errors": None if errors is None else str(errors), "packages": packages}))
