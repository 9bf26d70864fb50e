#!/usr/bin/python3
"""rulecover.py PMNS RULES CONFIG GROUPDIR: every metric the pmie rules
evaluate must be logged by the shipped pmlogger config and by a pmlogconf
group, or the rules cannot be used over the archives an operator records.
Prints one line per metric that is missing (and where); exit 1 if any.
The config and the groups are read by configmatch.py's parsers."""
import re
import sys

from configmatch import config, covers, groups


def pmns_leaves(path):
    """the full names of the leaves of a pmns file"""
    leaves, parent = set(), None
    for line in open(path):
        line = line.split('#')[0].strip()
        m = re.match(r'^([a-z0-9_.]+)\s*\{$', line)
        if m:
            parent = m.group(1)
            continue
        m = re.match(r'^([a-z0-9_]+)\s+\S+:\d+:\d+$', line)
        if m and parent:
            leaves.add(parent + '.' + m.group(1))
    return leaves


def rule_metrics(path, leaves):
    """metric names used in the rules' expressions (not the rule names)"""
    text = re.sub(r'//[^\n]*|/\*.*?\*/|"[^"]*"', ' ', open(path).read(), flags=re.S)
    used = set()
    for stmt in text.split(';'):
        expr = stmt.split('=', 1)[1] if re.match(r'\s*[a-z0-9_.]+\s*=', stmt) else stmt
        used.update(n for n in re.findall(r'epics\.[a-z0-9_.]+', expr) if n in leaves)
    return used


def main():
    pmns, rules, config_path, groupdir = sys.argv[1:5]
    leaves = pmns_leaves(pmns)
    used = rule_metrics(rules, leaves)
    if not used:
        print('no metric found in %s' % rules)
        return 1
    in_config = [n for n, (_, commented) in config(config_path).items() if not commented]
    in_groups = list(groups(groupdir))
    missing = 0
    for name in sorted(used):
        where = [w for w, names in (('pmlogger config', in_config), ('pmlogconf groups', in_groups))
                 if not covers(names, name)]
        if where:
            print('%s: not logged by the %s' % (name, ' nor the '.join(where)))
            missing += 1
    print('%d metrics used by the rules, %d not logged' % (len(used), missing))
    return 1 if missing else 0


if __name__ == '__main__':
    sys.exit(main())
