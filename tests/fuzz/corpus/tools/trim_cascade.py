#!/usr/bin/env python3
"""trim_cascade.py IN.xml OUT.xml [STAGES] [WEAK]: an OpenCV cascade cut down
to its first STAGES stages of at most WEAK weak classifiers each, with the
features renumbered, so a fuzz seed stays a few KB yet loads and runs.
Handles the current format (opencv-cascade-classifier, HAAR or LBP) and the
old haartraining one (opencv-haar-classifier)."""
import sys
import xml.etree.ElementTree as ET

def main():
    src, dst = sys.argv[1], sys.argv[2]
    nst = int(sys.argv[3]) if len(sys.argv) > 3 else 2
    nweak = int(sys.argv[4]) if len(sys.argv) > 4 else 3
    tree = ET.parse(src)
    root = tree.getroot()
    casc = root[0]
    if casc.get("type_id") == "opencv-haar-classifier":
        stages = casc.find("stages")
        for st in list(stages)[nst:]:
            stages.remove(st)
        for st in stages:
            trees = st.find("trees")
            for t in list(trees)[nweak:]:
                trees.remove(t)
            nxt = st.find("next")
            if nxt is not None:
                nxt.text = "-1"
    else:
        lbp = casc.findtext("featureType").strip() == "LBP"
        stages = casc.find("stages")
        for st in list(stages)[nst:]:
            stages.remove(st)
        casc.find("stageNum").text = str(nst)
        used = []
        for st in stages:
            weak = st.find("weakClassifiers")
            for w in list(weak)[nweak:]:
                weak.remove(w)
            st.find("maxWeakCount").text = str(len(weak))
            for w in weak:
                nodes = w.find("internalNodes").text.split()
                per = 3 + (8 if lbp else 1)  # left right feature threshold | 8 subset words
                for i in range(0, len(nodes), per):
                    f = int(nodes[i + 2])
                    if f not in used:
                        used.append(f)
                    nodes[i + 2] = str(used.index(f))
                w.find("internalNodes").text = " ".join(nodes)
        feats = casc.find("features")
        old = list(feats)
        for f in old:
            feats.remove(f)
        for f in used:
            feats.append(old[f])
    tree.write(dst, xml_declaration=True, encoding="utf-8")

main()
