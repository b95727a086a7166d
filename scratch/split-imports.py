import re, os, sys, subprocess
root='/work/main'
M = {}
def put(mod, names):
    for n in names.split(): M[n]=mod
put('src/jobs/status','STATUS_NAMES StatusName StatusEntry TrackerState StatusReport StatusDocument')
put('src/jobs/settings','JobSettings NotifyPlan HostSettings')
put('src/jobs/progress','Phase ProgressBase Progress')
put('src/jobs/keys','hostQueue pushObjectKey topicQueue hostTopicQueue partKey manifestKey objectKey jobRecordKey partCountFor')
put('src/kinds/backup/contract','SourceInfo SplitSummary PartRef ObjectPartRef PartResult BackupState BackupInput BackupResult')
put('src/kinds/restore/contract','ManifestSummary RestoreState RestoreInput RestoreResult')
put('src/kinds/dispatch/contract','DispatchSettings DispatchInput HandlerOutput DispatchResult')
put('src/kinds/push/contract','PushSettings PushInput PushedFile DeliveryRequest DeliveryResult HostOutcome PushResult')
put('src/kinds/etl/contract','EtlInput LocationTally TransformOutcome EtlResult TransformInput TransformResult LoadInput LocationLoad LoadResult CleanupInput CleanupResult')
put('src/jobs/fields','backupName jobId checksumSet notifyEvent callbackUrl notifySettings hostName NotifyEvent NotifySettings ChecksumSet')
put('src/jobs/message-error','MessageError')
put('src/kinds/backup/message','backupMessage BackupMessage')
put('src/kinds/restore/message','restoreMessage RestoreMessage')
put('src/kinds/dispatch/message','dispatchMessage DispatchMessage')
put('src/kinds/push/message','pushMessage PushMessage')
put('src/kinds/etl/message','etlMessage EtlMessage')
put('src/kinds/registry','message Message MessageKind parseMessage parseMessageJson')
put('src/jobs/definitions','SIGNALS QUERIES')
files = subprocess.check_output(['git','ls-files','*.ts'],cwd=root,text=True).split()
pat = re.compile(r"import\s+(type\s+)?\{([^}]*)\}\s+from\s+'([^']*/(?:jobs|kinds/messages))';\n")
for rel in files:
    p=os.path.join(root,rel)
    if not os.path.exists(p): continue
    s=open(p).read()
    def rep(m):
        alltype = bool(m.group(1))
        spec=m.group(3)
        target=os.path.normpath(os.path.join(os.path.dirname(p),spec))
        if not (target.endswith('/src/jobs') or target.endswith('/src/kinds/messages')): return m.group(0)
        groups={}
        for item in [x.strip() for x in m.group(2).split(',') if x.strip()]:
            istype = alltype or item.startswith('type ')
            name = item[5:].strip() if item.startswith('type ') else item
            base = name.split(' as ')[0].strip()
            mod = M.get(base)
            if mod is None: print('UNKNOWN', rel, base); mod='src/jobs/UNKNOWN'
            groups.setdefault(mod,[]).append(('type ' if istype and not alltype else '')+name if not alltype else name)
            if alltype: groups[mod][-1]=name
        out=''
        for mod,names in groups.items():
            r=os.path.relpath(os.path.join(root,mod),os.path.dirname(p))
            if not r.startswith('.'): r='./'+r
            out+=f"import {'type ' if alltype else ''}{{ {', '.join(names)} }} from '{r}';\n"
        return out
    s2=pat.sub(rep,s)
    if s2!=s: open(p,'w').write(s2)
