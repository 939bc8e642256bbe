const fs=require('fs'); const rows=fs.readFileSync(process.argv[2],'utf8').trim().split('\n').filter(Boolean).map(JSON.parse);
const g={}; for(const r of rows){(g[r.workload+' '+r.mech]??=[]).push(r);}
const med=a=>{a=[...a].sort((x,y)=>x-y);return a[a.length>>1];};
for(const k of Object.keys(g).sort()){const a=g[k]; const ex=a.map(r=>r.excess*100);
 console.log(k.padEnd(18), 'n='+a.length, 'excess% min/med/max', Math.min(...ex).toFixed(1), med(ex).toFixed(1), Math.max(...ex).toFixed(1), ' live MiB', (med(a.map(r=>r.live))/2**20).toFixed(1), ' cpu ms', med(a.map(r=>r.cpu)).toFixed(0), 'wall', med(a.map(r=>r.wall)).toFixed(0), 'gcs', med(a.map(r=>r.gcs)));}
