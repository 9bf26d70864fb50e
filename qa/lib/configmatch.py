#!/usr/bin/python3
"""configmatch.py CONFIG GROUPDIR: pmlogger/epics.config says it logs the
same metrics at the same intervals as the pmlogconf groups that pmlogconf
includes by default ("? include"); check it, so that the two ways of
recording a sniffer give the same archives. Groups that are only available
("? available", the put audit) must appear in the config commented out.
Prints one line per difference; exit 1 if any."""
import os
import re
import sys

UNITS = {'sec': 1, 'second': 1, 'min': 60, 'minute': 60, 'hour': 3600}


def seconds(text):
    m = re.match(r'^\s*(\d+)\s*([a-z]+?)s?\s*$', text)
    if not m or m.group(2) not in UNITS:
        raise ValueError('interval "%s"' % text)
    return int(m.group(1)) * UNITS[m.group(2)]


def groups(groupdir):
    """{metric: (seconds, group, default)} from the pmlogconf group files"""
    out = {}
    for g in sorted(os.listdir(groupdir)):
        delta, default = None, False
        for line in open(os.path.join(groupdir, g)):
            if line.startswith('delta'):
                delta = seconds(line.split(None, 1)[1])
            elif line.startswith('probe'):
                default = '? include' in line
            elif re.match(r'^\s+epics\.[a-z0-9_.]+\s*$', line):
                out[line.strip()] = (delta, g, default)
    return out


def config(path):
    """{metric: (seconds, commented)} from the pmlogger config's clauses"""
    out, delta = {}, None
    for line in open(path):
        m = re.match(r'^(#?)log mandatory on (.+?) \{', line)
        if m:
            delta = seconds(m.group(2))
            continue
        m = re.match(r'^(#?)\s+(epics\.[a-z0-9_.]+)\s*$', line)
        if m and delta:
            out[m.group(2)] = (delta, m.group(1) == '#')
    return out


def covers(names, metric):
    """the config entry naming metric or a subtree holding it"""
    for n in names:
        if metric == n or metric.startswith(n + '.'):
            return n
    return None


def main():
    cfg = config(sys.argv[1])
    grp = groups(sys.argv[2])
    bad = 0
    for metric, (delta, group, default) in sorted(grp.items()):
        name = covers(cfg, metric)
        if name is None:
            print('%s (group %s) is not in the config' % (metric, group))
            bad += 1
            continue
        cdelta, commented = cfg[name]
        if commented == default:
            print('%s: %s in the config, %s in group %s' % (
                metric, 'commented out' if commented else 'logged',
                'included' if default else 'only available', group))
            bad += 1
        if cdelta != delta:
            print('%s: every %d s in the config, %d s in group %s' % (metric, cdelta, delta, group))
            bad += 1
    for name in sorted(cfg):
        if not any(m == name or m.startswith(name + '.') for m in grp):
            print('%s is in the config but in no group' % name)
            bad += 1
    print('%d metrics of %d groups compared, %d differences' % (
        len(grp), len(set(g for _, g, _ in grp.values())), bad))
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main())
