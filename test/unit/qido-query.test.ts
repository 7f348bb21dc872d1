import { expect } from 'chai';
import { dateRange, likeFromWildcard, parseQidoQuery, tagOf, toSearchParams, uidList, orthancQuery } from '../../dicom-proxy/src/query.js';

const parse = (query: string) => parseQidoQuery(new URLSearchParams(query));

describe('QIDO query canonicalisation (pure)', () => {
  const spellings: [string, string | null][] = [
    ['PatientID', '00100020'],
    ['patientid', '00100020'],
    ['PATIENTID', '00100020'],
    ['00100020', '00100020'],
    ['0010,0020', '00100020'],
    ['0020000d', '0020000D'],
    ['StudyInstanceUID', '0020000D'],
    ['studyinstanceuid', '0020000D'],
    ['0020,000D', '0020000D'],
    ['ModalitiesInStudy', '00080061'],
    ['NoSuchKeyword', null],
    ['0010002', null],
    ['OtherPatientIDsSequence.PatientID', null],
  ];
  for (const [key, tag] of spellings) it(`${key} → ${tag}`, () => expect(tagOf(key)).to.equal(tag));

  const refused: [string, string][] = [
    ['PatientID=A&PatientID=*', 'PatientID'],
    ['PatientID=A&00100020=*', '00100020'],
    ['PatientID=A&0010,0020=*', '0010,0020'],
    ['patientid=A&PATIENTID=*', 'PATIENTID'],
    ['StudyInstanceUID=1.2&0020000D=1.3', '0020000D'],
    ['limit=1&limit=2', 'limit'],
    ['offset=1&offset=2', 'offset'],
    ['limit=-1', 'limit'],
    ['limit=abc', 'limit'],
    ['offset=1.5', 'offset'],
    ['fuzzymatching=maybe', 'fuzzymatching'],
    ['NoSuchKeyword=1', 'NoSuchKeyword'],
    ['OtherPatientIDsSequence.PatientID=X', 'OtherPatientIDsSequence.PatientID'],
    ['includefield=NoSuchKeyword', 'includefield'],
  ];
  for (const [query, field] of refused) {
    it(`refuses ${query} (names ${field})`, () => {
      const r = parse(query);
      expect(r.ok).to.equal(false);
      if (!r.ok) expect(r.problems.map((p) => p.field)).to.include(field);
    });
  }

  it('keeps one canonical value per attribute, control parameters apart', () => {
    const r = parse(
      'patientid=MC1&ModalitiesInStudy=CT%5CMR&includefield=00081030&includefield=StudyTime,0020000D&limit=2000&offset=3&fuzzymatching=true',
    );
    expect(r.ok).to.equal(true);
    if (!r.ok) return;
    expect([...r.query.filters]).to.deep.equal([
      ['00100020', 'MC1'],
      ['00080061', 'CT\\MR'],
    ]);
    expect([...(r.query.includeFields as Set<string>)]).to.deep.equal(['00081030', '00080030', '0020000D']);
    expect(r.query.limit).to.equal(1000);
    expect(r.query.offset).to.equal(3);
    expect(r.query.fuzzyMatching).to.equal(true);
    expect(toSearchParams(r.query).toString()).to.equal(
      '00100020=MC1&00080061=CT%5CMR&includefield=00081030&includefield=00080030&includefield=0020000D&limit=1000&offset=3&fuzzymatching=true',
    );
  });

  it('includefield=all, empty values (universal matching) and repeated includefield are accepted', () => {
    const r = parse('includefield=all&includefield=StudyDate&PatientName=&StudyDate=');
    expect(r.ok).to.equal(true);
    if (r.ok) {
      expect(r.query.includeFields).to.equal('all');
      expect(r.query.filters.get('00100010')).to.equal('');
    }
  });

  const uids: [string | undefined, string[] | null][] = [
    [undefined, null],
    ['', null],
    ['*', null],
    ['1.2.3', ['1.2.3']],
    ['1.2.3,1.2.4', ['1.2.3', '1.2.4']],
    ['1.2.3\\1.2.4', ['1.2.3', '1.2.4']],
    [' 1.2.3 , 1.2.4\\1.2.5 ', ['1.2.3', '1.2.4', '1.2.5']],
  ];
  for (const [value, list] of uids) it(`UID list ${JSON.stringify(value)}`, () => expect(uidList(value)).to.deep.equal(list));

  it('wildcards become LIKE patterns with LIKE’s own characters escaped', () => {
    expect(likeFromWildcard('MC*')).to.equal('MC%');
    expect(likeFromWildcard('M?1')).to.equal('M_1');
    expect(likeFromWildcard('100%_\\')).to.equal('100\\%\\_\\\\');
  });

  const dates: [string, ReturnType<typeof dateRange>][] = [
    ['20260115', { from: '2026-01-15', to: '2026-01-15' }],
    ['20260101-20260131', { from: '2026-01-01', to: '2026-01-31' }],
    ['20260101-', { from: '2026-01-01', to: null }],
    ['-20260131', { from: null, to: '2026-01-31' }],
    ['2026-01-01', null],
    ['-', null],
    ['x', null],
  ];
  for (const [value, range] of dates) it(`date ${value}`, () => expect(dateRange(value)).to.deep.equal(range));
});

describe('A forwarded query as Orthanc reads it (pure)', () => {
  const cases: [string, string][] = [
    ['viewport=128,128', 'viewport=128,128'],
    ['viewport=128%2C128', 'viewport=128,128'],
    ['window=40,400,linear&quality=90', 'window=40,400,linear&quality=90'],
    ['annotation=patient', 'annotation=patient'],
    ['a=b%26c', 'a=b%26c'],
    ['contentType=application%2Fdicom', 'contentType=application/dicom'],
    ['PatientName=Doe+J*', 'PatientName=Doe%20J*'],
    ['0020000D=1.2.3%2C1.2.4&includefield=00081030,00080060', '0020000D=1.2.3,1.2.4&includefield=00081030,00080060'],
  ];
  for (const [given, sent] of cases) {
    it(`${given} → ${sent}`, () => expect(orthancQuery(new URLSearchParams(given))).to.equal(sent));
  }
});
