import { expect } from 'chai';
import { presignGet, presignRequest } from '../../api/src/object-links/presign.js';

// AWS's published example of a presigned URL ("Authenticating Requests: Using Query Parameters", S3 API
// reference): its credentials, object, date and expiry, and the signature AWS gives for them.
const AWS_EXAMPLE = {
  accessKey: 'AKIAIOSFODNN7EXAMPLE',
  secretKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
  region: 'us-east-1',
  protocol: 'https:' as const,
  host: 'examplebucket.s3.amazonaws.com',
  path: '/test.txt',
};

describe('presigned URLs (AWS Signature V4 by the AWS SDK signer)', () => {
  it('reproduces AWS’s published example signature', async () => {
    const url = new URL(await presignRequest(AWS_EXAMPLE, 86400, new Date('2013-05-24T00:00:00Z')));
    expect(url.origin + url.pathname).to.equal('https://examplebucket.s3.amazonaws.com/test.txt');
    expect(Object.fromEntries(url.searchParams)).to.deep.equal({
      'X-Amz-Algorithm': 'AWS4-HMAC-SHA256',
      'X-Amz-Credential': 'AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request',
      'X-Amz-Date': '20130524T000000Z',
      'X-Amz-Expires': '86400',
      'X-Amz-SignedHeaders': 'host',
      'X-Amz-Signature': 'aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404',
    });
  });

  it('changes with the secret, the object and the date', async () => {
    const base = await presignRequest(AWS_EXAMPLE, 86400, new Date('2013-05-24T00:00:00Z'));
    const sig = (u: string) => new URL(u).searchParams.get('X-Amz-Signature');
    expect(sig(await presignRequest({ ...AWS_EXAMPLE, secretKey: 'other' }, 86400, new Date('2013-05-24T00:00:00Z')))).to.not.equal(
      sig(base),
    );
    expect(sig(await presignRequest({ ...AWS_EXAMPLE, path: '/test2.txt' }, 86400, new Date('2013-05-24T00:00:00Z')))).to.not.equal(
      sig(base),
    );
    expect(sig(await presignRequest(AWS_EXAMPLE, 86400, new Date('2013-05-25T00:00:00Z')))).to.not.equal(sig(base));
  });

  it('addresses MinIO path-style, with keys escaped once', async () => {
    const url = await presignGet(
      {
        endpoint: 'minio:9000',
        accessKey: 'k',
        secretKey: 's',
        bucket: 'medical-images',
        secure: false,
        region: 'us-east-1',
        presignTtlSeconds: 300,
      },
      'patients/a b/studies/1.2/x(1).dcm',
      300,
    );
    expect(url).to.match(
      /^http:\/\/minio:9000\/medical-images\/patients\/a%20b\/studies\/1\.2\/x%281%29\.dcm\?X-Amz-Algorithm=AWS4-HMAC-SHA256&/,
    );
  });
});
