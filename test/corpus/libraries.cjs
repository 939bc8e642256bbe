// The corpus of issue 12: real npm libraries that inspect binary types (constructor checks,
// instanceof, species, ArrayBuffer vs view, Buffer detection). Each `run` is deterministic and
// returns a string (hex, JSON) that must be byte-identical traced and untraced. A library throwing
// is part of its output (`error: ...`), so a behaviour change shows up as a difference, not a crash.
// Libraries are required inside `run`, so the driver decides whether they load before or after
// tracing starts.
'use strict';

/** Deterministic bytes (a xorshift generator). */
function bytes(n, seed = 1) {
  const out = new Uint8Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

const hex = (b) => Buffer.from(b.buffer ? new Uint8Array(b.buffer, b.byteOffset, b.byteLength) : b).toString('hex');
/** A short digest of a long output, so that the report stays readable. */
const digest = (b) => require('node:crypto').createHash('sha256').update(typeof b === 'string' ? b : Buffer.from(b.buffer ? new Uint8Array(b.buffer, b.byteOffset, b.byteLength) : b)).digest('hex');
const attempt = (f) => {
  try {
    return f();
  } catch (err) {
    return `error: ${err && err.message}`;
  }
};
const typeName = (v) => (v === null ? 'null' : typeof v !== 'object' ? typeof v : `${Object.prototype.toString.call(v)}:${v.constructor && v.constructor.name}`);

module.exports = [
  {
    name: 'cbor-x',
    run() {
      const { encode, decode } = require('cbor-x');
      const inputs = [
        new Uint8Array([1, 2]), new Uint8ClampedArray([3]), new Int16Array([-1, 2]), new Float32Array([1.5]),
        new Float64Array([2.25]), new BigUint64Array([7n]), new Uint8Array([9, 8, 7]).buffer, Buffer.from('buf'),
        { nested: [new Uint32Array([1, 2, 3]), new DataView(new ArrayBuffer(2))] },
      ];
      return inputs.map((v) => attempt(() => {
        const e = encode(v);
        const d = decode(e);
        return `${hex(e)} -> ${typeName(d)}`;
      })).join('\n');
    },
  },
  {
    name: 'msgpackr',
    run() {
      const { pack, unpack, Packr } = require('msgpackr');
      const packed = pack({ a: 1, list: [1, 'two', 3.5], bin: Buffer.from([1, 2, 3]), f: new Float32Array([1, 2]), u: new Uint8Array([4, 5]) });
      const ab = packed.buffer.slice(packed.byteOffset, packed.byteOffset + packed.byteLength);
      const out = [hex(packed)];
      out.push(attempt(() => JSON.stringify(unpack(packed), (k, v) => (v && v.buffer ? [typeName(v), Array.from(v)] : v))));
      out.push(attempt(() => typeName(unpack(ab))));
      out.push(attempt(() => typeName(unpack(new Uint8Array(ab)))));
      const p = new Packr({ structuredClone: true, moreTypes: true });
      out.push(attempt(() => hex(p.pack({ t: new Int32Array([1, -1]), ab: new ArrayBuffer(3) }))));
      out.push(attempt(() => Object.entries(p.unpack(p.pack({ t: new Int32Array([1, -1]), ab: new ArrayBuffer(3) }))).map(([k, v]) => `${k}=${typeName(v)}`).join(',')));
      return out.join('\n');
    },
  },
  {
    name: 'google-protobuf',
    run() {
      const { BinaryWriter, BinaryReader } = require('google-protobuf');
      const w = new BinaryWriter();
      w.writeString(1, 'hello');
      w.writeBytes(2, new Uint8Array([1, 2, 3]));
      w.writeInt64(3, 123456789);
      w.writePackedDouble(4, [1.5, 2.5]);
      const buf = w.getResultBuffer();
      const out = [hex(buf), typeName(buf)];
      for (const source of [buf, buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength), Buffer.from(buf)]) {
        out.push(attempt(() => {
          const r = new BinaryReader(source);
          const fields = [];
          while (r.nextField()) {
            const f = r.getFieldNumber();
            if (f === 1) fields.push(r.readString());
            else if (f === 2) fields.push(`${typeName(r.readBytes())}`);
            else if (f === 3) fields.push(String(r.readInt64()));
            else if (f === 4) {
              const values = [];
              r.readPackableDoubleInto(values);
              fields.push(values.join('/'));
            }
            else r.skipField();
          }
          return fields.join('|');
        }));
      }
      return out.join('\n');
    },
  },
  {
    name: 'three',
    run() {
      const THREE = require('three');
      const out = [];
      for (const [Ctor, values] of [[Uint8Array, [0, 128, 255]], [Int8Array, [-128, 0, 127]], [Uint16Array, [0, 65535, 1]], [Int16Array, [-32768, 5, 32767]], [Float32Array, [0.5, -1, 2]]]) {
        out.push(attempt(() => {
          const attr = new THREE.BufferAttribute(new Ctor(values), 1, Ctor !== Float32Array);
          attr.setX(1, 0.25);
          return `${Ctor.name}: ${[0, 1, 2].map((i) => attr.getX(i).toFixed(6)).join(',')} ${attr.array.constructor === Ctor}`;
        }));
      }
      out.push(attempt(() => {
        const g = new THREE.BoxGeometry(1, 2, 3, 2, 2, 2);
        g.computeBoundingSphere();
        const clone = g.clone();
        const pos = clone.getAttribute('position');
        const plain = new THREE.BufferGeometry().copy(clone);
        return `${pos.count} ${typeName(pos.array)} ${g.boundingSphere.radius.toFixed(6)} ${digest(JSON.stringify(plain.toJSON().data.attributes))}`;
      }));
      out.push(attempt(() => {
        const t = new THREE.DataTexture(new Uint8Array(16), 2, 2);
        return `${t.image.data.constructor === Uint8Array} ${THREE.DataUtils.toHalfFloat(1.5)}`;
      }));
      return out.join('\n');
    },
  },
  {
    name: 'ws',
    run() {
      const { Sender, Receiver } = require('ws');
      const mask = (m) => { m[0] = 1; m[1] = 2; m[2] = 3; m[3] = 4; };
      const frames = [];
      for (const [data, opts] of [
        [Buffer.from('hello'), { fin: true, opcode: 2, mask: true, generateMask: mask, readOnly: true }],
        [new Uint8Array(200).fill(7), { fin: true, opcode: 2, mask: true, generateMask: mask, readOnly: false }],
        ['text frame', { fin: true, opcode: 1, mask: true, generateMask: mask }],
        [Buffer.from(bytes(70000)), { fin: true, opcode: 2, mask: true, generateMask: mask, readOnly: true }],
      ]) {
        frames.push(Buffer.concat(Sender.frame(data, opts)));
      }
      const messages = [];
      const receiver = new Receiver({ isServer: true, allowSynchronousEvents: true, binaryType: 'nodebuffer' });
      receiver.on('message', (data, isBinary) => messages.push(`${isBinary} ${typeName(data)} ${digest(data)}`));
      receiver.on('error', (err) => messages.push(`error ${err.message}`));
      for (const f of frames) receiver.write(f);
      const r2 = new Receiver({ isServer: true, allowSynchronousEvents: true, binaryType: 'arraybuffer' });
      r2.on('message', (data) => messages.push(`ab ${typeName(data)} ${data.byteLength}`));
      r2.write(frames[0]);
      return [...frames.map(digest), ...messages].join('\n');
    },
  },
  {
    name: 'pako',
    run() {
      const pako = require('pako');
      const input = bytes(50000, 7);
      const text = 'hello hello hello pako '.repeat(200);
      const d = pako.deflate(input);
      const g = pako.gzip(text);
      const out = [digest(d), typeName(d), digest(g)];
      out.push(digest(pako.inflate(d)), typeName(pako.inflate(d)));
      out.push(pako.ungzip(g, { to: 'string' }).length);
      out.push(attempt(() => digest(pako.inflate(d.buffer.slice(d.byteOffset, d.byteOffset + d.byteLength)))));
      out.push(attempt(() => digest(pako.deflateRaw(Buffer.from(text)))));
      return out.join('\n');
    },
  },
  {
    name: 'fflate',
    run() {
      const f = require('fflate');
      const input = bytes(40000, 3);
      const z = f.zlibSync(input, { level: 6 });
      const g = f.gzipSync(f.strToU8('fflate '.repeat(500)), { mtime: 0 });
      const zip = f.zipSync({ 'a.bin': input.slice(0, 1000), 'b.txt': f.strToU8('bee') }, { mtime: new Date(Date.UTC(2020, 0, 1)) });
      const files = f.unzipSync(zip);
      return [digest(z), digest(f.unzlibSync(z)), digest(g), f.strFromU8(f.gunzipSync(g)).length, digest(zip),
        Object.keys(files).map((k) => `${k}:${typeName(files[k])}:${files[k].length}`).join(','), digest(f.decompressSync(z))].join('\n');
    },
  },
  {
    name: 'protobufjs',
    run() {
      const protobuf = require('protobufjs');
      const root = protobuf.Root.fromJSON({
        nested: {
          Msg: {
            fields: {
              name: { type: 'string', id: 1 }, data: { type: 'bytes', id: 2 }, nums: { rule: 'repeated', type: 'sint32', id: 3 },
              big: { type: 'fixed64', id: 4 }, ratio: { type: 'double', id: 5 },
            },
          },
        },
      });
      const Msg = root.lookupType('Msg');
      const msg = Msg.create({ name: 'x', data: new Uint8Array([1, 2, 3]), nums: [-1, 2, -300], big: 12345, ratio: 0.5 });
      const enc = Msg.encode(msg).finish();
      const out = [hex(enc), typeName(enc)];
      out.push(attempt(() => JSON.stringify(Msg.toObject(Msg.decode(enc), { bytes: String, longs: String }))));
      out.push(attempt(() => typeName(Msg.decode(Buffer.from(enc)).data)));
      out.push(attempt(() => typeName(Msg.decode(new Uint8Array(enc)).data)));
      out.push(attempt(() => hex(Msg.encode(Msg.fromObject({ data: 'AQID', name: 'b64' })).finish())));
      return out.join('\n');
    },
  },
  {
    name: 'bson',
    run() {
      const BSON = require('bson');
      const doc = {
        s: 'str', n: 42, f: 1.5, bin: new BSON.Binary(new Uint8Array([1, 2, 3])), u8: new Uint8Array([4, 5]),
        buf: Buffer.from('buf'), id: new BSON.ObjectId('0123456789abcdef01234567'), l: BSON.Long.fromNumber(7),
        d: new Date(Date.UTC(2021, 1, 2)), nested: { arr: [1, 'a', null] },
      };
      const bytesOut = BSON.serialize(doc);
      const back = BSON.deserialize(bytesOut);
      const out = [hex(bytesOut), typeName(bytesOut)];
      out.push(Object.entries(back).map(([k, v]) => `${k}=${typeName(v)}`).join(','));
      out.push(attempt(() => JSON.stringify(BSON.EJSON.serialize(back))));
      out.push(attempt(() => typeName(BSON.deserialize(Buffer.from(bytesOut)).u8)));
      out.push(attempt(() => hex(BSON.serialize({ f32: new Float32Array([1]) }))));
      return out.join('\n');
    },
  },
  {
    name: 'buffer-crc32',
    run() {
      const crc32 = require('buffer-crc32');
      return [crc32(Buffer.from('hello')).toString('hex'), crc32.unsigned('hello'), crc32.signed(Buffer.from(bytes(1000))),
        attempt(() => crc32(new Uint8Array([1, 2, 3])).toString('hex')), crc32(Buffer.from('world'), crc32(Buffer.from('hello '))).toString('hex')].join('\n');
    },
  },
  {
    name: 'uuid',
    run() {
      const uuid = require('uuid');
      const ns = '6ba7b810-9dad-11d1-80b4-00c04fd430c8';
      const out = [uuid.v5('example.com', ns), uuid.v3('example.com', ns)];
      const parsed = uuid.parse(ns);
      out.push(typeName(parsed), hex(parsed), uuid.stringify(parsed));
      out.push(uuid.v4({ random: bytes(16, 9) }), uuid.v7({ msecs: 1700000000000, random: bytes(16, 5) }));
      const into = Buffer.alloc(20);
      uuid.v4({ random: bytes(16, 11) }, into, 2);
      out.push(hex(into), attempt(() => uuid.stringify(new Uint8Array(parsed))));
      return out.join('\n');
    },
  },
  {
    name: 'iconv-lite',
    run() {
      const iconv = require('iconv-lite');
      const text = 'Grüße, Ελληνικά, 日本語, emoji 😀';
      const out = [];
      for (const enc of ['utf8', 'utf16le', 'utf16be', 'latin1', 'win1251', 'shift_jis', 'gbk', 'utf32le', 'base64']) {
        out.push(attempt(() => {
          const b = iconv.encode(text, enc);
          return `${enc} ${typeName(b)} ${hex(b)} ${iconv.decode(b, enc)}`;
        }));
      }
      out.push(attempt(() => iconv.decode(new Uint8Array([0xe2, 0x82, 0xac]), 'utf8')));
      return out.join('\n');
    },
  },
  {
    name: 'pngjs',
    run() {
      const { PNG } = require('pngjs');
      const png = new PNG({ width: 32, height: 16 });
      png.data.set(bytes(32 * 16 * 4, 21));
      const file = PNG.sync.write(png, { colorType: 6 });
      const back = PNG.sync.read(file);
      return [digest(file), typeName(file), `${back.width}x${back.height}`, digest(back.data), typeName(back.data)].join('\n');
    },
  },
  {
    name: 'jpeg-js',
    run() {
      const jpeg = require('jpeg-js');
      const width = 24;
      const height = 16;
      const data = Buffer.from(bytes(width * height * 4, 33));
      const enc = jpeg.encode({ data, width, height }, 80);
      const dec = jpeg.decode(enc.data, { useTArray: true });
      const dec2 = jpeg.decode(enc.data);
      return [digest(enc.data), typeName(enc.data), typeName(dec.data), digest(dec.data), typeName(dec2.data), digest(dec2.data)].join('\n');
    },
  },
  {
    name: 'gl-matrix',
    run() {
      const { mat4, vec3, quat, glMatrix } = require('gl-matrix');
      const m = mat4.create();
      mat4.perspective(m, Math.PI / 3, 16 / 9, 0.1, 100);
      const view = mat4.lookAt(mat4.create(), [1, 2, 3], [0, 0, 0], [0, 1, 0]);
      const mv = mat4.multiply(mat4.create(), m, view);
      const q = quat.setAxisAngle(quat.create(), [0, 1, 0], 0.5);
      const v = vec3.transformQuat(vec3.create(), [1, 0, 0], q);
      const cloned = mat4.clone(mv);
      return [typeName(m), glMatrix.ARRAY_TYPE === Float32Array, hex(mv), hex(v), typeName(cloned), mat4.str(cloned), hex(new Float32Array(mv).slice(4, 8))].join('\n');
    },
  },
  {
    name: 'bn.js',
    run() {
      const BN = require('bn.js');
      const a = new BN(Buffer.from(bytes(40, 17)));
      const b = new BN('123456789abcdef0123456789', 16);
      const p = a.mul(b).add(new BN(12345)).mod(new BN('fffffffffffffffffffffffffffffff61', 16));
      const out = [p.toString(16), hex(p.toArrayLike(Buffer, 'be', 32)), typeName(p.toArrayLike(Buffer, 'le', 32))];
      out.push(attempt(() => hex(p.toArrayLike(Uint8Array, 'be', 32))), attempt(() => p.toArray('le', 20).join(',')));
      out.push(attempt(() => new BN(new Uint8Array([1, 2, 3])).toString(10)), a.pow(new BN(3)).toString(36).length);
      return out.join('\n');
    },
  },
];
