import { PassThrough, type Readable } from 'node:stream';

/** What a report PDF shows. */
export interface ReportPdf {
  title: string;
  findings: string;
  conclusion: string;
  patient: { name: string; identifier: string; birthDate: string };
  study: { description: string | null; date: string | null; modalities: string[]; studyInstanceUid: string };
  author: string;
  createdAt: Date;
  /** Key images (PNG), printed after the text, two per page. */
  keyImages?: { caption: string; png: Buffer }[];
}

/** Renders a radiology report as a PDF stream (built page by page, never as one buffer). */
export async function renderReportPdf(r: ReportPdf): Promise<Readable> {
  // Loaded on first use: pdfkit and its fonts weigh ~25 MB that most processes never need.
  const { default: PDFDocument } = await import('pdfkit');
  const doc = new PDFDocument({ size: 'A4', margin: 56, info: { Title: r.title, Author: r.author, Producer: 'MediConnect' } });
  const out = new PassThrough();
  doc.pipe(out);
  doc.fontSize(18).text(r.title);
  doc.moveDown(0.5).fontSize(10).fillColor('#444');
  doc.text(`Patient: ${r.patient.name} (${r.patient.identifier}), born ${r.patient.birthDate}`);
  doc.text(
    `Study: ${r.study.description ?? 'untitled'} — ${r.study.date ?? 'date unknown'} — ${r.study.modalities.join(', ') || 'modality unknown'}`,
  );
  doc.text(`Study Instance UID: ${r.study.studyInstanceUid}`);
  doc.text(`Reported by ${r.author} on ${r.createdAt.toISOString().slice(0, 10)}`);
  doc.moveDown().fillColor('#000').fontSize(13).text('Findings');
  doc.moveDown(0.3).fontSize(11).text(r.findings);
  doc.moveDown().fontSize(13).text('Conclusion');
  doc.moveDown(0.3).fontSize(11).text(r.conclusion);
  const images = r.keyImages ?? [];
  const width = doc.page.width - doc.page.margins.left - doc.page.margins.right;
  const height = (doc.page.height - doc.page.margins.top - doc.page.margins.bottom) / 2 - 40;
  images.forEach((image, i) => {
    if (i % 2 === 0)
      doc
        .addPage()
        .fontSize(13)
        .fillColor('#000')
        .text(i === 0 ? 'Key images' : 'Key images (continued)');
    doc.moveDown(0.3);
    doc.image(image.png, { fit: [width, height], align: 'center' });
    doc
      .moveDown(0.2)
      .fontSize(8)
      .fillColor('#444')
      .text(`${i + 1}. ${image.caption}`);
  });
  doc.end();
  return out;
}
