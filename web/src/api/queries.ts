// Server state goes through TanStack Query: these keys are what a write invalidates so every screen shows the change.
export const keys = {
  hospitals: ['hospitals'] as const,
  accounts: (role: string) => ['accounts', role] as const,
  devices: ['devices'] as const,
  patients: ['patients'] as const,
  patient: (id: string) => ['patients', id] as const,
  appointments: ['appointments'] as const,
  entries: (patientId: string) => ['entries', patientId] as const,
  studies: (patientId?: string) => ['studies', patientId ?? 'all'] as const,
  shares: (studyId: string) => ['shares', studyId] as const,
  reports: (studyId: string) => ['reports', studyId] as const,
  quarantine: ['quarantine'] as const,
};
